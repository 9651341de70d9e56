import { StatusBar } from "expo-status-bar";
import { Pressable, StyleSheet, Text, View } from "react-native";
import { SafeAreaProvider, useSafeAreaInsets } from "react-native-safe-area-context";
import { NavigationProvider, useNavigation, type Route, type Tab } from "./src/navigation";
import { DigitsScreen } from "./src/screens/DigitsScreen";
import { EmbeddingsScreen } from "./src/screens/EmbeddingsScreen";
import { JobScreen } from "./src/screens/JobScreen";
import { JobsScreen } from "./src/screens/JobsScreen";
import { ModelScreen } from "./src/screens/ModelScreen";
import { ModelsScreen } from "./src/screens/ModelsScreen";
import { PlaygroundsScreen } from "./src/screens/PlaygroundsScreen";
import { SignInScreen } from "./src/screens/SignInScreen";
import { SessionProvider, useSession } from "./src/session";
import { useTheme } from "./src/theme";
import { Loading } from "./src/ui";

export default function App() {
  return (
    <SafeAreaProvider>
      <SessionProvider>
        <Root />
      </SessionProvider>
    </SafeAreaProvider>
  );
}

export function Root() {
  const { state } = useSession();
  const theme = useTheme();
  const insets = useSafeAreaInsets();
  return (
    <View style={{ flex: 1, backgroundColor: theme.background, paddingTop: insets.top, paddingBottom: insets.bottom }}>
      <StatusBar style={theme.dark ? "light" : "dark"} />
      {state.status === "loading" ? <Loading label="Opening strata" /> : null}
      {state.status === "signedOut" ? <SignInScreen initialBaseUrl={state.baseUrl} initialUsername={state.username} notice={state.notice} /> : null}
      {state.status === "signedIn" ? (
        // A new key per sign-in: nothing of the previous session's screens survives.
        <NavigationProvider key={`${state.baseUrl} ${state.username}`}>
          <SignedIn />
        </NavigationProvider>
      ) : null}
    </View>
  );
}

function screenFor(route: Route) {
  switch (route.name) {
    case "models":
      return <ModelsScreen />;
    case "model":
      return <ModelScreen name={route.model} />;
    case "jobs":
      return <JobsScreen />;
    case "job":
      return <JobScreen id={route.id} />;
    case "playgrounds":
      return <PlaygroundsScreen />;
    case "embeddings":
      return <EmbeddingsScreen />;
    case "digits":
      return <DigitsScreen />;
  }
}

const TABS: { tab: Tab; title: string }[] = [
  { tab: "models", title: "Models" },
  { tab: "training", title: "Training" },
  { tab: "playgrounds", title: "Playgrounds" },
];

function SignedIn() {
  const navigation = useNavigation();
  const { state, signOut } = useSession();
  const theme = useTheme();
  return (
    <View style={{ flex: 1 }}>
      <View style={[styles.header, { borderColor: theme.border, backgroundColor: theme.surface }]}>
        {navigation.canGoBack ? (
          <Pressable accessibilityRole="button" accessibilityLabel="Back" onPress={navigation.back} style={styles.headerButton}>
            <Text style={{ color: theme.accent, fontSize: 16 }}>‹ Back</Text>
          </Pressable>
        ) : (
          <Text style={{ color: theme.muted }} testID="whoami" numberOfLines={1}>
            {state.status === "signedIn" ? state.username : ""}
          </Text>
        )}
        <Pressable accessibilityRole="button" accessibilityLabel="Sign out" onPress={() => void signOut()} style={styles.headerButton}>
          <Text style={{ color: theme.accent, fontSize: 16 }}>Sign out</Text>
        </Pressable>
      </View>
      <View style={{ flex: 1 }}>{screenFor(navigation.route)}</View>
      <View accessibilityRole="tablist" style={[styles.tabs, { borderColor: theme.border, backgroundColor: theme.surface }]}>
        {TABS.map(({ tab, title }) => {
          const selected = navigation.tab === tab;
          return (
            <Pressable
              key={tab}
              accessibilityRole="tab"
              accessibilityLabel={title}
              aria-selected={selected}
              onPress={() => navigation.selectTab(tab)}
              style={styles.tab}
            >
              <Text style={{ color: selected ? theme.accent : theme.muted, fontWeight: selected ? "700" : "400" }}>{title}</Text>
            </Pressable>
          );
        })}
      </View>
    </View>
  );
}

const styles = StyleSheet.create({
  header: { flexDirection: "row", justifyContent: "space-between", alignItems: "center", paddingHorizontal: 16, minHeight: 48, borderBottomWidth: 1 },
  headerButton: { minHeight: 44, justifyContent: "center" },
  tabs: { flexDirection: "row", borderTopWidth: 1 },
  tab: { flex: 1, minHeight: 52, alignItems: "center", justifyContent: "center" },
});
