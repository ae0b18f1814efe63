// The CLI's option values: booleans, whole numbers, times, tags, endpoints.
// Each refusal is commander's InvalidArgumentError, which it reports as a
// usage error naming the option.

import { InvalidArgumentError } from 'commander';
import t from 'tap';
import { parseBool, parseEndpointList, parseIntIn, parseTag, parseTime } from '../../src/cli/parse.js';

t.test('booleans', async (t) => {
  for (const v of ['true', 'TRUE', ' yes', 'on', '1']) t.equal(parseBool(v), true, v);
  for (const v of ['false', 'False', 'no', 'off', '0']) t.equal(parseBool(v), false, v);
  for (const v of ['', 'maybe', 'tru', '2']) t.throws(() => parseBool(v), InvalidArgumentError, v);
});

t.test('whole numbers in a range', async (t) => {
  const days = parseIntIn(7, 90);
  t.equal(days('7'), 7);
  t.equal(days(' 90 '), 90);
  for (const v of ['6', '91', '-7', '7.5', '1e1', '7days', '', 'x']) t.throws(() => days(v), InvalidArgumentError, v);
});

t.test('times: Unix seconds or ISO 8601, zone-less means UTC', async (t) => {
  t.equal(parseTime('0'), 0, '0 is "not set"');
  t.equal(parseTime('1893456000'), 1893456000);
  t.equal(parseTime('2030-01-01'), 1893456000);
  t.equal(parseTime('2030-01-01T00:00:00Z'), 1893456000);
  t.equal(parseTime('2030-01-01t00:00:00z'), 1893456000);
  t.equal(parseTime('2030-01-01T00:00'), 1893456000);
  t.equal(parseTime('2030-01-01 00:00:00'), 1893456000);
  t.equal(parseTime('2030-01-01T01:00:00+01:00'), 1893456000);
  t.equal(parseTime('2030-01-01T00:00:00.999Z'), 1893456000, 'fractions are dropped');
  t.equal(parseTime('2029-12-31T19:00:00-05:00'), 1893456000);
  for (const v of ['', 'tomorrow', '2030-02-30', '2030-13-01', '2030-1-1', '1893456000000', '-5', '2030-01-01T25:00:00Z', '01/02/2030']) {
    t.throws(() => parseTime(v), InvalidArgumentError, JSON.stringify(v));
  }
});

t.test('tags accumulate, a bare key has an empty value, "" adds nothing', async (t) => {
  let tags = parseTag('env=prod', undefined);
  tags = parseTag('team=a=b', tags);
  tags = parseTag('flag', tags);
  tags = parseTag('', tags);
  tags = parseTag('env=dev', tags);
  t.same(tags, { env: 'dev', team: 'a=b', flag: '' });
  t.same(parseTag('', undefined), {}, 'an empty argument alone means no tags');
  t.throws(() => parseTag('=x', undefined), InvalidArgumentError);
});

t.test('endpoint lists', async (t) => {
  t.same(parseEndpointList('a:1,b:2'), ['a:1', 'b:2']);
  t.throws(() => parseEndpointList('a'), InvalidArgumentError);
  t.throws(() => parseEndpointList(','), InvalidArgumentError);
});
