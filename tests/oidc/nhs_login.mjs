// An OpenID Connect provider set up the way NHS login is, for the end-to-end tests: the
// OpenID-certified `oidc-provider` package, authorisation-code flow, the client authenticating
// with private_key_jwt signed RS512, ID tokens signed RS512, `nhs_number`, `birthdate` and
// `vot` claims. Usage: node nhs_login.mjs CONFIG.json  (port, client, accounts; see the test).
// Prints "ready" once it listens.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), alg: "RS512", use: "sig", kid: "nhs-login-test" };

const provider = new Provider(`http://127.0.0.1:${config.port}`, {
  clients: [
    {
      client_id: config.client_id,
      redirect_uris: [config.redirect_uri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "RS512",
      id_token_signed_response_alg: "RS512",
      jwks: { keys: [config.client_public_jwk] },
    },
  ],
  jwks: { keys: [signingKey] },
  enabledJWA: {
    clientAuthSigningAlgValues: ["RS512"],
    idTokenSigningAlgValues: ["RS512"],
  },
  scopes: ["openid", "profile", "email"],
  claims: {
    openid: ["sub", "vot"],
    profile: ["nhs_number", "birthdate", "family_name", "identity_proofing_level"],
    email: ["email", "email_verified"],
  },
  conformIdTokenClaims: false,
  extraParams: ["vtr"],
  pkce: { required: () => false },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = config.accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
});
provider.proxy = false;
provider.listen(config.port, "127.0.0.1", () => console.log("ready"));
