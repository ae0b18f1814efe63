// The vault and the origin of a request, from its Host header (src/rest/host.ts).

import t from 'tap';
import { addressOf } from '../../src/rest/host.js';

t.test('{vault}.kv.localhost names the vault; localhost and IP addresses the default one', async (t) => {
  const cases: [string, string, string][] = [
    ['myvault.kv.localhost:8443', 'myvault', 'https://myvault.kv.localhost:8443'],
    ['myvault.kv.localhost', 'myvault', 'https://myvault.kv.localhost'],
    ['MyVault.KV.LocalHost:8443', 'myvault', 'https://myvault.kv.localhost:8443'],
    ['my-vault-2.kv.localhost:1', 'my-vault-2', 'https://my-vault-2.kv.localhost:1'],
    ['localhost:7401', 'dflt', 'https://localhost:7401'],
    ['127.0.0.1:7401', 'dflt', 'https://127.0.0.1:7401'],
    ['10.1.2.3', 'dflt', 'https://10.1.2.3'],
    ['[::1]:7401', 'dflt', 'https://[::1]:7401'],
  ];
  for (const [host, vault, origin] of cases) t.same(addressOf(host, 'dflt'), { vault, origin }, host);
});

t.test('any other host is BadParameter, naming what to use; nothing of it reaches an id', async (t) => {
  const cases: [string | undefined, RegExp][] = [
    [undefined, /no Host header/],
    ['', /no Host header/],
    ['kv.localhost:8443', /"kv.localhost:8443" names no vault: use https:\/\/\{vault\}.kv.localhost, or localhost for the default vault \(dflt\)/],
    ['.kv.localhost', /names no vault/],
    ['a.b.kv.localhost', /names no vault/],
    ['myvault.kv.localhost.evil.example', /names no vault/],
    ['vault.azure.net', /names no vault/],
    ['my_vault.kv.localhost', /is not a host name/],
    ['myvault.kv.localhost:port', /is not a host name/],
    ['myvault.kv.localhost/x', /is not a host name/],
    ['user@myvault.kv.localhost', /is not a host name/],
    ['[::1', /is not a host name/],
    ['x'.repeat(300), /is not a host name|names no vault/],
  ];
  for (const [host, message] of cases) t.throws(() => addressOf(host, 'dflt'), { name: 'RestError', status: 400, code: 'BadParameter', message }, JSON.stringify(host));
  t.throws(() => addressOf('x'.repeat(300), 'dflt'), { message: /^The host "x{64}" / }, 'the host is cut short in the message');
});
