import type { ReactNode } from "react";
import {
  ActivityIndicator,
  Pressable,
  RefreshControl,
  ScrollView,
  StyleSheet,
  Text,
  TextInput,
  View,
  type TextInputProps,
} from "react-native";
import { useTheme } from "./theme";

/** A scrolling screen body; with `onRefresh`, pulling down reloads it. */
export function Screen({ children, refreshing = false, onRefresh, testID }: { children: ReactNode; refreshing?: boolean; onRefresh?: () => void; testID?: string }) {
  const theme = useTheme();
  return (
    <ScrollView
      testID={testID}
      style={{ flex: 1, backgroundColor: theme.background }}
      contentContainerStyle={styles.screen}
      keyboardShouldPersistTaps="handled"
      refreshControl={onRefresh ? <RefreshControl refreshing={refreshing} onRefresh={onRefresh} tintColor={theme.muted} /> : undefined}
    >
      {children}
    </ScrollView>
  );
}

export function Title({ children }: { children: ReactNode }) {
  const theme = useTheme();
  return (
    <Text accessibilityRole="header" style={[styles.title, { color: theme.text }]}>
      {children}
    </Text>
  );
}

export function Body({ children, muted = false, testID }: { children: ReactNode; muted?: boolean; testID?: string }) {
  const theme = useTheme();
  return (
    <Text testID={testID} style={[styles.body, { color: muted ? theme.muted : theme.text }]}>
      {children}
    </Text>
  );
}

export function Card({ children, onPress, label, hint, testID }: { children: ReactNode; onPress?: () => void; label?: string; hint?: string; testID?: string }) {
  const theme = useTheme();
  const style = [styles.card, { backgroundColor: theme.surface, borderColor: theme.border }];
  if (!onPress) return <View style={style} testID={testID}>{children}</View>;
  return (
    <Pressable onPress={onPress} accessibilityRole="button" accessibilityLabel={label} accessibilityHint={hint} style={style} testID={testID}>
      {children}
    </Pressable>
  );
}

export function Button({ title, onPress, disabled = false, busy = false, kind = "primary", label }: { title: string; onPress: () => void; disabled?: boolean; busy?: boolean; kind?: "primary" | "secondary" | "danger"; label?: string }) {
  const theme = useTheme();
  const background = kind === "primary" ? theme.accent : "transparent";
  const color = kind === "primary" ? theme.onAccent : kind === "danger" ? theme.danger : theme.accent;
  return (
    <Pressable
      onPress={onPress}
      disabled={disabled || busy}
      accessibilityRole="button"
      accessibilityLabel={label ?? title}
      // State as aria-* props throughout the app: React Native maps them to its accessibility
      // state on iOS and Android, and react-native-web renders them, which it no longer does for
      // `accessibilityState`.
      aria-disabled={disabled || busy}
      aria-busy={busy}
      style={({ pressed }) => [
        styles.button,
        { backgroundColor: background, borderColor: kind === "primary" ? theme.accent : color, opacity: disabled ? 0.5 : pressed ? 0.8 : 1 },
      ]}
    >
      {busy ? <ActivityIndicator color={color} /> : <Text style={[styles.buttonText, { color }]}>{title}</Text>}
    </Pressable>
  );
}

export function Field({ label, ...props }: { label: string } & TextInputProps) {
  const theme = useTheme();
  return (
    <View style={styles.field}>
      <Text style={[styles.label, { color: theme.muted }]}>{label}</Text>
      <TextInput
        accessibilityLabel={label}
        placeholderTextColor={theme.muted}
        autoCapitalize="none"
        autoCorrect={false}
        {...props}
        style={[styles.input, { color: theme.text, backgroundColor: theme.surface, borderColor: theme.border }, props.style]}
      />
    </View>
  );
}

/** A failure in plain words, announced to screen readers, with a way to try again. */
export function ErrorMessage({ message, onRetry }: { message: string; onRetry?: () => void }) {
  const theme = useTheme();
  return (
    <View accessibilityRole="alert" accessibilityLiveRegion="polite" style={[styles.error, { backgroundColor: theme.dangerSurface, borderColor: theme.danger }]}>
      <Text style={{ color: theme.danger }}>{message}</Text>
      {onRetry ? <Button title="Try again" kind="secondary" onPress={onRetry} /> : null}
    </View>
  );
}

export function Loading({ label }: { label: string }) {
  const theme = useTheme();
  return (
    <View style={styles.loading} accessibilityLabel={label} accessible>
      <ActivityIndicator color={theme.muted} />
    </View>
  );
}

export function Fact({ label, value, testID }: { label: string; value: ReactNode; testID?: string }) {
  const theme = useTheme();
  return (
    <View style={styles.fact}>
      <Text style={{ color: theme.muted }}>{label}</Text>
      <Text testID={testID} style={{ color: theme.text, fontWeight: "600" }}>{value}</Text>
    </View>
  );
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

const styles = StyleSheet.create({
  screen: { padding: 16, gap: 12 },
  title: { fontSize: 24, fontWeight: "700" },
  body: { fontSize: 16, lineHeight: 22 },
  card: { borderWidth: 1, borderRadius: 12, padding: 14, gap: 6 },
  button: { borderWidth: 1, borderRadius: 10, minHeight: 44, paddingHorizontal: 16, alignItems: "center", justifyContent: "center" },
  buttonText: { fontSize: 16, fontWeight: "600" },
  field: { gap: 4 },
  label: { fontSize: 14 },
  input: { borderWidth: 1, borderRadius: 10, minHeight: 44, paddingHorizontal: 12, fontSize: 16 },
  error: { borderWidth: 1, borderRadius: 10, padding: 12, gap: 8 },
  loading: { padding: 24, alignItems: "center" },
  fact: { flexDirection: "row", justifyContent: "space-between", gap: 12 },
});
