// The OpenID Connect provider the test suite signs in against: oidc-provider
// with one confidential client and its own login form, which refuses a
// wrong password (the package's development form accepts anything).
//
// Environment: PORT (loopback), ACCOUNTS_FILE (JSON, re-read on every
// request, so a test changes a user's password or groups by rewriting it:
// {"ann": {"password": "...", "email": "...", "name": "...", "groups": [...]}}),
// CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated).
// Prints "ready <issuer>" on stdout once it listens.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = () => JSON.parse(readFileSync(process.env.ACCOUNTS_FILE, "utf8"));
const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: process.env.REDIRECT_URIS.split(","),
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  jwks: { keys: [{ ...signingKey, kid: "test", use: "sig", alg: "RS256" }] },
  cookies: { keys: ["relapp-test-provider-cookie-key"] },
  claims: {
    openid: ["sub"],
    email: ["email"],
    profile: ["preferred_username", "name", "given_name", "family_name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // First-party client: no consent screen, every requested scope granted.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile groups");
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const account = accounts()[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        const current = accounts()[sub] || {};
        const [given, ...family] = (current.name || sub).split(" ");
        return {
          sub,
          preferred_username: current.username || sub,
          email: current.email,
          name: current.name || sub,
          given_name: given,
          family_name: family.join(" "),
          groups: current.groups || [],
        };
      },
    };
  },
});

const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function loginForm(res, uid, message, status = 200) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><title>Test provider sign-in</title>
<h1>Test provider</h1>${message ? `<p role="alert" id="error">${escape(message)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Username <input name="login" id="login" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit">Sign in</button></form>`);
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === "GET") return loginForm(res, details.uid, "");
  const form = await readForm(req);
  const login = form.get("login") || "";
  const account = accounts()[login];
  if (!account || account.password !== form.get("password")) {
    return loginForm(res, details.uid, "Wrong username or password.", 401);
  }
  await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
}

const handler = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith("/interaction/")) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(String(error));
    });
    return;
  }
  handler(req, res);
}).listen(port, "127.0.0.1", () => console.log(`ready ${issuer}`));
