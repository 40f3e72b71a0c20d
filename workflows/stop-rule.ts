// The target the stop rule reads. The compound rule (target.bothMetrics: similarity and precision both reach
// the target) is taken only by runs that record the 'compound-stop-rule' patch; a history from before it
// replays with the single-metric rule it was recorded with.
import { patched } from '@temporalio/workflow';
import type { TargetConfig } from '../common/config';

export function stopRuleTarget(target: TargetConfig): TargetConfig {
  if (!target.bothMetrics || patched('compound-stop-rule')) return target;
  const { bothMetrics: _unpatched, ...single } = target;
  return single;
}
