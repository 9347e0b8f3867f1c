import pg from 'pg';
import { DemoError } from './demo-error.js';

/** Whether `role` still exists, asked as the superuser: the demo's proof that the grant is gone. */
export async function roleExists(superuserUrl: string, role: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: superuserUrl, application_name: 'jit demo' });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    return (rowCount ?? 0) > 0;
  } catch (error) {
    throw new DemoError(
      'verify_failed',
      `could not check pg_roles for ${role}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => {});
  }
}
