import type { Model } from "@strata/client";
import { Pressable, StyleSheet, Text, View } from "react-native";
import { useTheme } from "./theme";

/** One choice among the models that fit a playground, as a radio group. */
export function ModelPicker({ models, selected, onSelect }: { models: Model[]; selected: string | undefined; onSelect: (name: string) => void }) {
  const theme = useTheme();
  return (
    <View accessibilityRole="radiogroup" accessibilityLabel="Model" style={styles.row}>
      {models.map((model) => {
        const on = model.name === selected;
        return (
          <Pressable
            key={model.name}
            accessibilityRole="radio"
            accessibilityLabel={model.name}
            aria-checked={on}
            onPress={() => onSelect(model.name)}
            style={[styles.chip, { borderColor: on ? theme.accent : theme.border, backgroundColor: on ? theme.accent : theme.surface }]}
          >
            <Text style={{ color: on ? theme.onAccent : theme.text }}>{model.name}</Text>
          </Pressable>
        );
      })}
    </View>
  );
}

const styles = StyleSheet.create({
  row: { flexDirection: "row", flexWrap: "wrap", gap: 8 },
  chip: { borderWidth: 1, borderRadius: 16, paddingHorizontal: 12, minHeight: 36, justifyContent: "center" },
});
