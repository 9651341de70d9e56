import { fireEvent, render, screen, waitFor } from "@testing-library/react-native";
import * as SecureStore from "expo-secure-store";
import App from "../App";
import { BASE, json, problem, recordApi, renderSignedIn } from "./api";

const store = (SecureStore as unknown as { __store: Map<string, string> }).__store;

async function fillSignIn(address: string, user: string, password: string) {
  fireEvent.changeText(await screen.findByLabelText("API address"), address);
  fireEvent.changeText(screen.getByLabelText("User name"), user);
  fireEvent.changeText(screen.getByLabelText("Password"), password);
  fireEvent.press(screen.getByRole("button", { name: "Sign in" }));
}

test("signs in, keeps the token in secure storage only, and remembers the address for next time", async () => {
  const api = recordApi({
    "POST /v1/auth/token": () => json({ access_token: "jwt-abc", token_type: "Bearer", expires_in: 3600 }),
    "GET /v1/models": () => json({ models: [] }),
  });
  render(<App />);
  await fillSignIn("10.0.2.2:8080/", " ada ", "correct horse battery");

  expect(await screen.findByText("ada")).toBeTruthy();
  const [tokenRequest] = api.calls("POST", "/v1/auth/token");
  expect(tokenRequest?.url).toBe(`${BASE}/v1/auth/token`);
  expect(await tokenRequest?.json()).toEqual({ username: "ada", password: "correct horse battery" });
  expect(store.get("strata.token")).toBe("jwt-abc");
  expect(store.get("strata.baseUrl")).toBe(BASE);
  // The token then travels as a bearer header on every call.
  await waitFor(() => expect(api.calls("GET", "/v1/models")[0]?.headers.get("authorization")).toBe("Bearer jwt-abc"));

  fireEvent.press(screen.getByRole("button", { name: "Sign out" }));
  expect(await screen.findByLabelText("API address")).toHaveProp("value", BASE);
  expect(screen.getByLabelText("User name")).toHaveProp("value", "ada");
  expect(store.has("strata.token")).toBe(false);
});

test("wrong credentials and bad addresses get plain words, and no request for a bad address", async () => {
  const api = recordApi({ "POST /v1/auth/token": () => problem(401, "Unauthorized", "invalid credentials") });
  render(<App />);
  await fillSignIn("ftp://host", "ada", "x");
  expect(await screen.findByText("The API address must start with http:// or https://.")).toBeTruthy();
  expect(api.requests).toHaveLength(0);

  fireEvent.changeText(screen.getByLabelText("API address"), BASE);
  fireEvent.press(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByText("The user name or password is wrong.")).toBeTruthy();
  expect(store.has("strata.token")).toBe(false);

  fireEvent.changeText(screen.getByLabelText("Password"), "");
  fireEvent.press(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByText("Enter your password.")).toBeTruthy();
});

test("an unreachable API is told apart from a refusal", async () => {
  recordApi({
    "POST /v1/auth/token": () => {
      throw new TypeError("Network request failed");
    },
  });
  render(<App />);
  await fillSignIn(BASE, "ada", "pw");
  expect(await screen.findByText(/^Can't reach the strata API\. Check that you are online/)).toBeTruthy();
});

test("a saved session opens signed in; a 401 from any screen sends the user back to sign in", async () => {
  recordApi({ "GET /v1/models": () => problem(401, "Unauthorized", "token expired") });
  await renderSignedIn({ waitForHeader: false });
  expect(await screen.findByText("Your session has ended. Sign in again.")).toBeTruthy();
  expect(screen.getByLabelText("API address")).toHaveProp("value", BASE);
  expect(store.has("strata.token")).toBe(false);
});
