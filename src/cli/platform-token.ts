import { generateSecret } from '@libs/api-key';

/**
 * Prints a new platform admin token for QUIVER_BOOTSTRAP_TOKEN (the server stores only its hash).
 * `node dist/src/cli/platform-token.js [live|test]`
 */
const env = process.argv[2] === 'test' ? 'test' : 'live';
process.stdout.write(`${generateSecret('qvp', env).secret}\n`);
