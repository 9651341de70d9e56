/**
 * The commands the getting-started panel shows: a token for the signed-in user, then the calls
 * this app makes, against this stack's own API URL and models. Plain functions so they are tested
 * without a browser.
 */
import type { Model } from "@strata/client";
import { candidates, embedsText, readsDigits, type Candidate } from "./models";

/** Where the dev stack keeps the generated admin password (tools/dev/run). */
export const DEV_ADMIN_PASSWORD_FILE = ".strata/admin-password";

/**
 * The first digit of the digits sample (a 0), 8x8 grey levels 0-16 row by row: a real input for
 * the classifier example.
 */
export const SAMPLE_DIGIT = [
  0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0,
  0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0,
];

/** The model a playground would call for each kind of input, if any. */
export function playgroundModels(models: Model[]): { classifier?: Candidate | undefined; encoder?: Candidate | undefined } {
  return { classifier: candidates(models, readsDigits)[0], encoder: candidates(models, embedsText)[0] };
}

/** A single-quoted shell word. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

export interface CommandInputs {
  apiUrl: string;
  user: string;
  classifier?: Candidate | undefined;
  encoder?: Candidate | undefined;
}

/** curl and TypeScript snippets for this stack, ready to paste. */
export function gettingStartedCommands({ apiUrl, user, classifier, encoder }: CommandInputs): { curl: string; typescript: string } {
  const api = apiUrl.replace(/\/+$/, "");
  // Built with jq so any password survives JSON quoting.
  const password = user === "admin" ? `"$(cat ${DEV_ADMIN_PASSWORD_FILE})"` : `'<your password>'`;
  const curl = [
    `API=${shellQuote(api)}`,
    `TOKEN=$(jq -n --arg u ${shellQuote(user)} --arg p ${password} '{username: $u, password: $p}' |`,
    `  curl -s "$API/v1/auth/token" -H 'content-type: application/json' -d @- | jq -r .access_token)`,
    `curl -s "$API/v1/models" -H "authorization: Bearer $TOKEN" | jq '.models[].name'`,
  ];
  if (encoder) {
    curl.push(
      `curl -s "$API/v1/embeddings" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `  -d '{"model": "${encoder.ref}", "input": ["The parcel never arrived.", "My order is missing."]}' | jq '.data[].embedding[:4]'`,
    );
  }
  if (classifier) {
    curl.push(
      `curl -s "$API/v1/models/${classifier.ref}:predict" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `  -d '{"features": [[${SAMPLE_DIGIT.join(",")}]]}' | jq '.predictions[0].label'`,
    );
  }

  const typescript = [
    `import { createStrataClient } from "@strata/client";`,
    ``,
    `const client = createStrataClient({ baseUrl: ${JSON.stringify(api)}, token: process.env.TOKEN });`,
    `const models = await client.listModels();`,
    ...(encoder
      ? [`const { vectors } = await client.createEmbeddings(${JSON.stringify(encoder.ref)}, ["The parcel never arrived.", "My order is missing."]);`]
      : []),
    ...(classifier
      ? [`const { predictions } = await client.predict(${JSON.stringify(classifier.ref)}, { features: [[/* 64 grey levels */]] });`]
      : []),
  ].join("\n");
  return { curl: curl.join("\n"), typescript };
}
