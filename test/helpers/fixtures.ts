import * as path from 'node:path';
import { packageRoot } from '../../server/paths';

/**
 * Real captured data from outside the project (see its README): it sits in
 * `../shared/fixtures/` beside the checkout, locally and in CI.
 */
export const fixturesDir = path.join(packageRoot, '..', 'shared', 'fixtures');
