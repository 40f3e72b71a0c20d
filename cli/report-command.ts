// `llamaduo report <id>`: filled in when the report renderer lands.
import type { MigrationClient } from '../client/migrations';

export async function writeMigrationReport(_mc: MigrationClient, _id: string, _out?: string): Promise<string> {
  throw new Error('report rendering is not available in this build');
}
