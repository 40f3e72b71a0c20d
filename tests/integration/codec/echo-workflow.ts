// A minimal workflow for the encryption test: its input, activity call and result all carry private text.
import { proxyActivities } from '@temporalio/workflow';

export interface EchoActivities {
  answer(prompt: string): Promise<string>;
}

const { answer } = proxyActivities<EchoActivities>({ startToCloseTimeout: '30 seconds' });

export async function echoWorkflow(input: {
  prompt: string;
  config: { note: string };
}): Promise<{ response: string }> {
  return { response: await answer(`${input.prompt} / ${input.config.note}`) };
}
