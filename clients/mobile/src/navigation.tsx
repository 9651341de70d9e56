/**
 * A three-tab navigator with a stack per tab, kept in React state. The app has six screens and no
 * deep links yet, so this is enough and keeps native dependencies (react-navigation's screens and
 * gesture handler) out of the build; Android's back button pops the stack.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { BackHandler } from "react-native";

export type Tab = "models" | "training" | "playgrounds";
export type Route =
  | { name: "models" }
  | { name: "model"; model: string }
  | { name: "jobs" }
  | { name: "job"; id: string }
  | { name: "playgrounds" }
  | { name: "embeddings" }
  | { name: "digits" };

const ROOTS: Record<Tab, Route> = { models: { name: "models" }, training: { name: "jobs" }, playgrounds: { name: "playgrounds" } };

export interface Navigation {
  tab: Tab;
  route: Route;
  canGoBack: boolean;
  push(route: Route): void;
  back(): void;
  selectTab(tab: Tab): void;
}

const NavigationContext = createContext<Navigation | undefined>(undefined);

export function NavigationProvider({ children }: { children: ReactNode }) {
  const [tab, setTab] = useState<Tab>("models");
  const [stacks, setStacks] = useState<Record<Tab, Route[]>>({ models: [ROOTS.models], training: [ROOTS.training], playgrounds: [ROOTS.playgrounds] });
  const stack = stacks[tab];
  const push = useCallback((route: Route) => setStacks((s) => ({ ...s, [tab]: [...s[tab], route] })), [tab]);
  const back = useCallback(() => setStacks((s) => ({ ...s, [tab]: s[tab].length > 1 ? s[tab].slice(0, -1) : s[tab] })), [tab]);
  const canGoBack = stack.length > 1;

  useEffect(() => {
    const sub = BackHandler.addEventListener("hardwareBackPress", () => {
      if (!canGoBack) return false;
      back();
      return true;
    });
    return () => sub.remove();
  }, [back, canGoBack]);

  const value = useMemo<Navigation>(
    () => ({ tab, route: stack[stack.length - 1] ?? ROOTS[tab], canGoBack, push, back, selectTab: setTab }),
    [tab, stack, canGoBack, push, back],
  );
  return <NavigationContext.Provider value={value}>{children}</NavigationContext.Provider>;
}

export function useNavigation(): Navigation {
  const navigation = useContext(NavigationContext);
  if (!navigation) throw new Error("useNavigation outside NavigationProvider");
  return navigation;
}
