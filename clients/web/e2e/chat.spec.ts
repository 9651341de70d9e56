/**
 * The chat page against a real text generator: SmolLM2-135M-Instruct imported with the `strata`
 * CLI before the ML service starts. A greedy answer streams in through the `/api` proxy and the
 * API's OpenAI-compatible `POST /v1/chat/completions`, with its token counts and speed shown;
 * then a long answer is stopped halfway and the page returns to idle, keeping what arrived.
 */
import { expect, test } from "@playwright/test";
import { screenshot, signIn, stackPerFile } from "./helpers";

const stack = stackPerFile({ withSmolLM2: true });

test("chat with smollm2: a streamed answer with its stats, then a long one stopped", async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, stack, "/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Chat" }).click();
  await expect(page).toHaveURL(/\/chat$/);
  await expect(page.getByRole("heading", { level: 1, name: "Chat" })).toBeVisible();

  // The only text generator in the registry is picked.
  const picker = page.getByLabel("Model");
  await expect(picker).toHaveValue(/^smollm2@v1$/);
  await picker.selectOption("smollm2@v1");
  await expect(page.getByLabel("System prompt")).not.toHaveValue("");
  await page.getByLabel("Temperature").fill("0");
  await page.getByLabel("Max tokens").fill("64");

  const sent = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/api/v1/chat/completions");
  await page.getByLabel("Message", { exact: true }).fill("What is the capital of France? Answer in one sentence.");
  await page.getByRole("button", { name: "Send" }).click();
  const body = (await sent).postDataJSON() as Record<string, unknown>;
  expect(body).toMatchObject({
    model: "smollm2@v1",
    temperature: 0,
    max_tokens: 64,
    stream: true,
    stream_options: { include_usage: true },
  });
  expect(body.messages).toEqual([
    { role: "system", content: expect.any(String) },
    { role: "user", content: "What is the capital of France? Answer in one sentence." },
  ]);

  const log = page.getByRole("log", { name: "Messages" });
  await expect(log.getByTestId("user-message")).toHaveText(/What is the capital of France\?/);
  const answer = log.getByTestId("assistant-message").last();
  await expect(answer).toContainText("Paris", { timeout: 60_000 });
  // Finished: idle again, with the answer's counts and speed.
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByRole("button", { name: "Send" })).toBeEnabled();
  const stats = page.getByTestId("chat-stats");
  await expect(stats).toContainText(/Prompt tokens\s*[1-9]\d*/);
  await expect(stats).toContainText(/Completion tokens\s*[1-9]\d*/);
  await expect(stats).toContainText(/Tokens\/s\s*[\d,.]+/);
  await expect(stats).toContainText("smollm2@v1");
  await screenshot(page, "chat-answer");

  // A long answer, stopped while it streams: what arrived stays, marked as stopped. Greedy, so
  // the answer's length does not depend on chance: SmolLM2 runs on to the 2000-token limit here,
  // while a sampled story can end on its own before Stop is pressed.
  await page.getByLabel("Max tokens").fill("2000");
  await page.getByLabel("Message", { exact: true }).fill("Write a long story about a dragon.");
  await page.getByRole("button", { name: "Send" }).click();
  const story = log.getByTestId("assistant-message").nth(1);
  const stop = page.getByRole("button", { name: "Stop" });
  await expect(stop).toBeVisible();
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  await expect(story.locator(".chat-content")).toHaveText(/\S(.*\S){30}/s, { timeout: 60_000 });
  await stop.click();

  await expect(stop).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Send" })).toBeEnabled();
  await expect(page.getByTestId("chat-status")).toContainText("Stopped");
  await expect(story).toHaveAttribute("data-stopped", "true");
  const partial = (await story.locator(".chat-content").textContent()) ?? "";
  expect(partial.trim().length).toBeGreaterThan(30);
  // The page is idle: nothing more arrives after the stop.
  await page.waitForTimeout(1_000);
  expect((await story.locator(".chat-content").textContent()) ?? "").toBe(partial);
  await expect(page.getByTestId("chat-stats")).toHaveCount(0);
  // The conversation is kept: both questions and both answers.
  await expect(log.getByTestId("user-message")).toHaveCount(2);
  await expect(log.getByTestId("assistant-message")).toHaveCount(2);
  await expect(log.getByTestId("assistant-message").first()).toContainText("Paris");
  await screenshot(page, "chat-stopped");
});
