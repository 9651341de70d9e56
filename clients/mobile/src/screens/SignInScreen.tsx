import { useState } from "react";
import { KeyboardAvoidingView, Platform, StyleSheet, View } from "react-native";
import { useSession } from "../session";
import { useTheme } from "../theme";
import { Body, Button, ErrorMessage, Field, Screen, Title } from "../ui";

export function SignInScreen({ initialBaseUrl, initialUsername, notice }: { initialBaseUrl: string; initialUsername: string; notice?: string | undefined }) {
  const { signIn } = useSession();
  const theme = useTheme();
  const [baseUrl, setBaseUrl] = useState(initialBaseUrl);
  const [username, setUsername] = useState(initialUsername);
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await signIn(baseUrl, username, password);
    } catch (cause) {
      setError(cause instanceof Error ? cause.message : String(cause));
      setBusy(false);
    }
  };

  return (
    <KeyboardAvoidingView style={{ flex: 1, backgroundColor: theme.background }} behavior={Platform.OS === "ios" ? "padding" : undefined}>
      <Screen>
        <View style={styles.head}>
          <Title>Sign in to strata</Title>
          <Body muted>
            {Platform.OS === "web"
              ? "The address of your strata API is remembered in this browser; the token is kept in memory only."
              : "The address of your strata API is remembered on this device; the token is kept in its secure storage."}
          </Body>
        </View>
        {notice && !error ? <ErrorMessage message={notice} /> : null}
        <Field label="API address" value={baseUrl} onChangeText={setBaseUrl} placeholder="http://192.168.1.20:8080" keyboardType="url" inputMode="url" textContentType="URL" />
        <Field label="User name" value={username} onChangeText={setUsername} textContentType="username" autoComplete="username" />
        <Field label="Password" value={password} onChangeText={setPassword} secureTextEntry textContentType="password" autoComplete="password" onSubmitEditing={submit} returnKeyType="go" />
        {error ? <ErrorMessage message={error} /> : null}
        <Button title="Sign in" onPress={submit} busy={busy} />
      </Screen>
    </KeyboardAvoidingView>
  );
}

const styles = StyleSheet.create({ head: { gap: 6, marginTop: 24 } });
