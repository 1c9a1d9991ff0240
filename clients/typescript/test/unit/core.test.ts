// The portable core: a base64url and UTF-8 decoder of its own, and no browser or Node
// built-in outside the browser-only module.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { base64UrlDecode, decodeJwt } from '@sesame/client';

const source = fileURLToPath(new URL('../../packages/client/src/', import.meta.url));

describe('core', () => {
  it('decodes base64url with and without padding, like Node does', () => {
    for (const text of ['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar', '\u00ff\u00fe?>']) {
      const bytes = Buffer.from(text, 'latin1');
      const encoded = bytes.toString('base64url');
      assert.deepEqual(Buffer.from(base64UrlDecode(encoded)), bytes, text);
      assert.deepEqual(Buffer.from(base64UrlDecode(bytes.toString('base64'))), bytes, text);
    }
    assert.throws(() => base64UrlDecode('a'));
    assert.throws(() => base64UrlDecode('ab!d'));
  });

  it('reads claims with non-ASCII text and rejects what is not a JWT', () => {
    const claims = { name: 'Zoë Ω 日本 🙂', sid: 's' };
    const token = `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
    assert.deepEqual(decodeJwt(token), claims);
    assert.equal(decodeJwt('not a jwt'), null);
    assert.equal(decodeJwt(`e30.${Buffer.from('[1]').toString('base64url')}.sig`), null);
    assert.equal(decodeJwt('e30.%%%.sig'), null);
  });

  it('uses no DOM or Node built-in outside web.ts (React Native has neither)', () => {
    const forbidden = /\b(window|document|localStorage|sessionStorage|navigator|atob|btoa|Buffer|process|require|TextDecoder|URLSearchParams)\b/;
    const files = readdirSync(source).filter((name) => name.endsWith('.ts') && name !== 'web.ts');
    assert.ok(files.includes('client.ts'));
    for (const name of files) {
      const code = readFileSync(source + name, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      const found = code.match(forbidden);
      assert.equal(found, null, `${name} uses ${found?.[0]}`);
      assert.doesNotMatch(code, /from ['"]node:|react-native/, name);
    }
  });
});
