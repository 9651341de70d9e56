/**
 * Jest runs outside a phone: the native modules below have no implementation here, so each is
 * replaced by the smallest faithful stand-in (an in-memory key store, the safe-area package's own
 * mock). The network is never mocked here; each test records its answers with test/fetch.ts.
 */
jest.mock("expo-secure-store", () => {
  const store = new Map<string, string>();
  return {
    __store: store,
    getItemAsync: jest.fn(async (key: string) => store.get(key) ?? null),
    setItemAsync: jest.fn(async (key: string, value: string) => void store.set(key, value)),
    deleteItemAsync: jest.fn(async (key: string) => void store.delete(key)),
  };
});

jest.mock("react-native-safe-area-context", () => require("react-native-safe-area-context/jest/mock").default);

// jest-expo installs Expo's stream polyfills (as on a phone) next to Node's fetch, whose Response
// bodies are Node's streams; the two classes cannot be piped into each other. One family for all:
// Node's, which Response already uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const streams = require("node:stream/web") as Record<string, unknown>;
Object.assign(globalThis, {
  ReadableStream: streams.ReadableStream,
  WritableStream: streams.WritableStream,
  TransformStream: streams.TransformStream,
  TextDecoderStream: streams.TextDecoderStream,
  TextEncoderStream: streams.TextEncoderStream,
});

afterEach(() => {
  (require("expo-secure-store") as { __store: Map<string, string> }).__store.clear();
});
