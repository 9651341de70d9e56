/** @type {import('jest').Config} */
module.exports = {
  preset: "jest-expo",
  roots: ["<rootDir>/test"],
  setupFilesAfterEnv: ["<rootDir>/test/setup.ts"],
  // pnpm puts packages under node_modules/.pnpm/<name>@<version>/node_modules/<name>; the ESM ones
  // (React Native's, Expo's, and @strata/client's openapi-fetch and eventsource-parser) must go
  // through Babel like the app's own code.
  transformIgnorePatterns: [
    "/node_modules/(?!(\\.pnpm/[^/]+/node_modules/)?((jest-)?react-native|@react-native(-community)?|expo(nent)?|@expo(nent)?/.*|expo-.*|openapi-fetch|eventsource-parser|@strata))",
  ],
};
