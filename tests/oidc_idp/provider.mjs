// The offices' identity provider in the tests: oidc-provider (an OpenID Certified implementation)
// on 127.0.0.1, with a client for each of two offices, both signing in at the service's callback:
//
// - `sorgeregister-bremen`: a public client (PKCE, no secret);
// - `sorgeregister-cuxhaven`: a confidential client (client_secret_basic, secret `cuxhaven-geheim`).
//
// Accounts, by user name (any password): `k.meyer` and `b.schulz` (case_worker), `s.leitung`
// (supervisor), `r.register` (office_admin), `ohne.rolle` (no role at all). Their roles go into
// the ID token's `roles` claim.
//
// The sign-in page is a plain form (user name, password); consent is granted at once, as an
// office's own provider does for its own service. RP-initiated logout asks for confirmation.
//
// For the refusal tests, `GET /test/tamper?mode=<mode>` makes the next ID token the provider
// hands out a hostile one: `tampered` (payload changed, signature kept), `alg_none` (unsigned),
// `wrong_aud`, `expired`, `wrong_nonce` (re-signed with the provider's own key) or
// `foreign_key` (signed with a key the provider does not publish).
//
// Usage: node provider.mjs --port <port> --redirect-uri <uri> --post-logout-redirect-uri <uri>
// Prints "ready" once it listens.

import { parseArgs } from "node:util";

import * as jose from "jose";
import Provider from "oidc-provider";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    "redirect-uri": { type: "string" },
    "post-logout-redirect-uri": { type: "string" },
  },
});
const issuer = `http://127.0.0.1:${args.port}`;

const ACCOUNTS = {
  "k.meyer": { name: "Katrin Meyer", roles: ["case_worker"] },
  "b.schulz": { name: "Bernd Schulz", roles: ["case_worker"] },
  "s.leitung": { name: "Sabine Leitung", roles: ["supervisor"] },
  "r.register": { name: "Rita Register", roles: ["office_admin"] },
  "ohne.rolle": { name: "Otto Ohnerolle", roles: [] },
};

const signing = await jose.generateKeyPair("ES256", { extractable: true });
const signingJwk = { ...(await jose.exportJWK(signing.privateKey)), kid: "provider-key-1", alg: "ES256", use: "sig" };
const foreign = await jose.generateKeyPair("ES256");

const client = (id, extra) => ({
  client_id: id,
  redirect_uris: [args["redirect-uri"]],
  post_logout_redirect_uris: [args["post-logout-redirect-uri"]],
  grant_types: ["authorization_code"],
  response_types: ["code"],
  id_token_signed_response_alg: "ES256",
  ...extra,
});

const provider = new Provider(issuer, {
  clients: [
    client("sorgeregister-bremen", { token_endpoint_auth_method: "none" }),
    client("sorgeregister-cuxhaven", { client_secret: "cuxhaven-geheim", token_endpoint_auth_method: "client_secret_basic" }),
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ["test-provider-cookie-key"] },
  claims: { openid: ["sub"], profile: ["name", "roles"] },
  // The roles in the ID token itself, as the offices' providers put them.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Abmelden</title></head>
<body><main><h1>Beim Jugendamt abmelden?</h1>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Ja, abmelden</button></main></body></html>`;
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = "<!doctype html><html lang=\"de\"><head><title>Abgemeldet</title></head><body><main><h1>Abgemeldet</h1></main></body></html>";
      },
    },
  },
  findAccount: async (ctx, id) => {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, name: account.name, roles: account.roles }) };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { Session: 8 * 3600, Interaction: 600, AuthorizationCode: 60, IdToken: 300, Grant: 8 * 3600 },
});

// What the provider refuses goes to stderr, for the tests' logs.
for (const event of ["grant.error", "authorization.error", "end_session.error", "server_error"]) {
  provider.on(event, (ctx, error) => console.error(`${event}: ${error.message} ${error.error_detail ?? ""}`));
}

let tamper = null;

async function resign(payload, changes, key = signing.privateKey, kid = signingJwk.kid) {
  return new jose.SignJWT({ ...payload, ...changes }).setProtectedHeader({ alg: "ES256", kid }).sign(key);
}

async function hostile(idToken, mode) {
  const [header, body] = idToken.split(".");
  const payload = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case "tampered": {
      const changed = Buffer.from(JSON.stringify({ ...payload, roles: ["supervisor"] })).toString("base64url");
      return `${header}.${changed}.${idToken.split(".")[2]}`;
    }
    case "alg_none": {
      const none = Buffer.from(JSON.stringify({ alg: "none", kid: signingJwk.kid })).toString("base64url");
      return `${none}.${body}.`;
    }
    case "wrong_aud":
      return resign(payload, { aud: "sorgeregister-someone-else" });
    case "expired":
      return resign(payload, { iat: now - 7200, exp: now - 3600 });
    case "wrong_nonce":
      return resign(payload, { nonce: "not-this-sign-in" });
    case "foreign_key":
      return resign(payload, {}, foreign.privateKey);
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
}

function page(title, body) {
  return `<!doctype html><html lang="de"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
}

async function formBody(ctx) {
  let raw = "";
  for await (const chunk of ctx.req) raw += chunk;
  return new URLSearchParams(raw);
}

provider.use(async (ctx, next) => {
  if (ctx.path === "/test/tamper") {
    tamper = ctx.query.mode || null;
    ctx.body = { tamper };
    return;
  }
  const interaction = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === "POST" && interaction[2]) {
      const form = await formBody(ctx);
      const login = form.get("login");
      if (!ACCOUNTS[login]) {
        ctx.status = 401;
        ctx.body = page("Anmelden", "<p>Unbekannter Benutzername.</p>");
        return;
      }
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      return;
    }
    if (details.prompt.name === "login") {
      ctx.type = "html";
      ctx.body = page(
        "Anmelden beim Jugendamt",
        `<form method="post" action="/interaction/${details.uid}/login">
<label for="login">Benutzername</label> <input id="login" name="login" autocomplete="username">
<label for="password">Passwort</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Anmelden</button></form>`,
      );
      return;
    }
    // Consent: the office's own service gets what it asks for.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope("openid profile");
    grant.addOIDCClaims(["name", "roles"]);
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  await next();
  if (ctx.path === "/token" && ctx.status === 200 && tamper && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await hostile(ctx.body.id_token, tamper) };
    tamper = null;
  }
});

provider.listen(Number(args.port), "127.0.0.1", () => {
  console.log("ready");
});
