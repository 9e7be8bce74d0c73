// A real OpenID Provider (the certified `oidc-provider` package) for palisade-oauth's
// integration tests. Listens on a free loopback port, prints `ISSUER=<url>` on stdout when ready
// (and writes the URL to $ISSUER_FILE if set).
//
// Test-only extras, outside the provider's own routes:
//   GET /interaction/:uid    signs in `login_hint` (default "alice") without a form
//   POST /__test/rotate      puts a fresh RSA signing key (new kid) first in the key set
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const REDIRECT = 'http://127.0.0.1/callback';

// One store for every provider instance, so sessions and grants survive a key rotation.
const store = new Map();
class SharedMemoryAdapter {
  constructor(name) { this.name = name; }
  key(id) { return `${this.name}:${id}`; }
  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : null });
    if (payload.grantId) {
      const g = `grant:${payload.grantId}`;
      store.set(g, [...(store.get(g) ?? []), this.key(id)]);
    }
    if (payload.uid) store.set(`uid:${payload.uid}`, id);
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
  }
  async find(id) {
    const e = store.get(this.key(id));
    if (!e) return undefined;
    if (e.exp && e.exp < Date.now()) { store.delete(this.key(id)); return undefined; }
    return e.payload;
  }
  async findByUid(uid) { const id = store.get(`uid:${uid}`); return id ? this.find(id) : undefined; }
  async findByUserCode(code) { const id = store.get(`userCode:${code}`); return id ? this.find(id) : undefined; }
  async consume(id) { const e = store.get(this.key(id)); if (e) e.payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const k of store.get(`grant:${grantId}`) ?? []) store.delete(k);
    store.delete(`grant:${grantId}`);
  }
}

function jwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const key = privateKey.export({ format: 'jwk' });
  return { ...key, kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg };
}

const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
  jwk('ed25519', {}, 'EdDSA'),
];
const cookieKeys = [crypto.randomBytes(32).toString('hex')];

const accounts = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', groups: ['engineering', 'admins'] },
  bob: { email: 'bob@example.com', email_verified: false, name: 'Bob Builder', given_name: 'Bob', family_name: 'Builder', groups: [] },
};

function client(id, alg, extra = {}) {
  return {
    client_id: id,
    client_secret: `${id}-secret-0123456789abcdef`,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: alg,
    token_endpoint_auth_method: 'client_secret_basic',
    ...extra,
  };
}

function makeProvider(issuer) {
  const p = new Provider(issuer, {
    adapter: SharedMemoryAdapter,
    clients: [
      client('palisade-rs256', 'RS256'),
      client('palisade-es256', 'ES256'),
      client('palisade-eddsa', 'EdDSA'),
      client('palisade-other', 'RS256'),
      client('palisade-post', 'RS256', { token_endpoint_auth_method: 'client_secret_post' }),
    ],
    jwks: { keys },
    cookies: { keys: cookieKeys },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', 'api'],
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60, RefreshToken: 86400, Session: 86400, Interaction: 600, Grant: 86400 },
    issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    async findAccount(ctx, sub) {
      const a = accounts[sub];
      if (!a) return undefined;
      return { accountId: sub, async claims() { return { sub, ...a }; } };
    },
    async loadExistingGrant(ctx) {
      const clientId = ctx.oidc.client.clientId;
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(clientId);
      if (grantId) {
        const g = await ctx.oidc.provider.Grant.find(grantId);
        if (g) return g;
      }
      const g = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session.accountId });
      g.addOIDCScope('openid offline_access email profile groups api');
      g.addOIDCClaims(['email', 'email_verified', 'name', 'given_name', 'family_name', 'groups']);
      await g.save();
      ctx.oidc.session.grantIdFor(clientId, g.jti);
      return g;
    },
  });
  p.on('server_error', (ctx, err) => console.error('server_error', err));
  return p;
}

let provider;
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(req, res);
      const accountId = details.params.login_hint || 'alice';
      const result = details.prompt.name === 'login' ? { login: { accountId } } : {};
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
      return;
    }
    if (url.pathname === '/__test/rotate' && req.method === 'POST') {
      keys.unshift(jwk('rsa', { modulusLength: 2048 }, 'RS256'));
      provider = makeProvider(issuer);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kid: keys[0].kid }));
      return;
    }
    provider.callback()(req, res);
  } catch (err) {
    console.error(err);
    res.writeHead(500);
    res.end(String(err));
  }
});

let issuer;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  provider = makeProvider(issuer);
  if (process.env.ISSUER_FILE) fs.writeFileSync(process.env.ISSUER_FILE, issuer);
  console.log(`ISSUER=${issuer}`);
});
