import { useColorScheme } from "react-native";

export interface Theme {
  dark: boolean;
  background: string;
  surface: string;
  text: string;
  muted: string;
  border: string;
  accent: string;
  onAccent: string;
  danger: string;
  dangerSurface: string;
  ok: string;
}

const light: Theme = {
  dark: false,
  background: "#f6f7f9",
  surface: "#ffffff",
  text: "#111827",
  muted: "#4b5563",
  border: "#d1d5db",
  accent: "#2563eb",
  onAccent: "#ffffff",
  danger: "#b91c1c",
  dangerSurface: "#fee2e2",
  ok: "#047857",
};

// Contrast checked against WCAG AA (4.5:1) for text on background and surface.
const dark: Theme = {
  dark: true,
  background: "#0b0f17",
  surface: "#151b26",
  text: "#f3f4f6",
  muted: "#a1a9b8",
  border: "#2d3748",
  accent: "#60a5fa",
  onAccent: "#0b0f17",
  danger: "#fca5a5",
  dangerSurface: "#3b1219",
  ok: "#6ee7b7",
};

/** Follows the system setting (app.json: userInterfaceStyle automatic). */
export function useTheme(): Theme {
  return useColorScheme() === "dark" ? dark : light;
}
