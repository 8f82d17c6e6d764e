/**
 * The dashboard's files at `/`: the page, its script (built from web/ on the first request when
 * running from source) and its style sheet, each with a content security policy that lets the
 * page load nothing from elsewhere; the page's routes are not API operations (not in OpenAPI).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpHarness, type HttpHarness } from '../support/http-harness.js';

describe('dashboard files', () => {
  let h: HttpHarness;
  before(async () => {
    h = await startHttpHarness();
  });
  after(async () => h.close());

  it('serves the page, its script and its style sheet without a token, under a strict CSP', async () => {
    const expected: [string, RegExp, RegExp][] = [
      ['/', /^text\/html/, /<script type="module" src="\/assets\/app.js"><\/script>/],
      ['/assets/app.js', /^text\/javascript/, /\/v1\/session/],
      ['/assets/app.css', /^text\/css/, /\.signin/],
    ];
    for (const [url, type, body] of expected) {
      const response = await h.call({ method: 'GET', url, as: null });
      assert.equal(response.statusCode, 200, url);
      assert.match(String(response.headers['content-type']), type);
      assert.match(response.body, body);
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'.*connect-src 'self'/);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
    }
    const document = (await h.call({ method: 'GET', url: '/openapi.json', as: null })).json();
    assert.ok(!('/' in document.paths) && !('/assets/app.js' in document.paths));
  });
});
