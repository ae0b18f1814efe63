// The key stamp of a data folder: a new folder takes the current key's
// fingerprint; a folder is accepted under the current key or, during a
// rotation, the previous one; anything else is refused with a message that
// names both and changes nothing; a restamp replaces it whole.

import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WrongKeyError, checkKeyStamp, readKeyStamp, writeKeyStamp } from '../../src/storage/keystamp.js';

const OLD = '1111111111111111';
const NEW = '2222222222222222';
const OTHER = '3333333333333333';

function folder(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'keystamp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a new folder is stamped with the current key, 0600', async (t) => {
  const dir = folder(t);
  t.equal(readKeyStamp(dir), undefined);
  checkKeyStamp(dir, NEW, OLD);
  t.equal(readKeyStamp(dir), NEW, 'the current key, not the previous');
  t.equal(statSync(join(dir, 'master-key.fingerprint')).mode & 0o777, 0o600);
});

t.test('either key of a rotation is accepted; others are refused and nothing changes', async (t) => {
  const dir = folder(t);
  writeKeyStamp(dir, OLD);
  mkdirSync(join(dir, 'db'));
  t.doesNotThrow(() => checkKeyStamp(dir, OLD), 'the key that wrote it');
  t.doesNotThrow(() => checkKeyStamp(dir, NEW, OLD), 'the new key with the old one as previous');
  t.equal(readKeyStamp(dir), OLD, 'accepting does not restamp');

  const onlyNew = t.throws(() => checkKeyStamp(dir, NEW), WrongKeyError) as Error;
  t.match(onlyNew.message, new RegExp(`written with master key ${OLD}.*the key given is ${NEW}.*previous master key too`));
  const wrongPair = t.throws(() => checkKeyStamp(dir, NEW, OTHER), WrongKeyError) as Error;
  t.match(wrongPair.message, new RegExp(`the keys given are ${NEW} and previous ${OTHER}`));
  t.equal(readKeyStamp(dir), OLD, 'a refusal changes nothing');

  writeKeyStamp(dir, NEW);
  t.equal(readFileSync(join(dir, 'master-key.fingerprint'), 'utf8'), `${NEW}\n`);
  t.same(readdirSync(dir).sort(), ['db', 'master-key.fingerprint'], 'no temporary file left behind');
  t.throws(() => checkKeyStamp(dir, OLD), WrongKeyError, 'after the restamp the old key alone is refused');
  t.doesNotThrow(() => checkKeyStamp(dir, NEW));
});

t.test('a folder with data but no stamp is refused', async (t) => {
  const dir = folder(t);
  mkdirSync(join(dir, 'db'));
  t.throws(() => checkKeyStamp(dir, NEW, OLD), /refusing to guess/);
});
