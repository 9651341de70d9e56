import { render, screen } from "@testing-library/react-native";
import { Text, View } from "react-native";
import * as ReactNative from "react-native";
import { useTheme } from "../src/theme";

function Probe() {
  const theme = useTheme();
  return (
    <View testID="probe" style={{ backgroundColor: theme.background }}>
      <Text>{theme.dark ? "dark" : "light"}</Text>
    </View>
  );
}

test("follows the system's dark mode", () => {
  const scheme = jest.spyOn(ReactNative, "useColorScheme");
  scheme.mockReturnValue("dark");
  render(<Probe />);
  expect(screen.getByText("dark")).toBeTruthy();
  expect(screen.getByTestId("probe")).toHaveStyle({ backgroundColor: "#0b0f17" });
  scheme.mockReturnValue("light");
  screen.rerender(<Probe />);
  expect(screen.getByText("light")).toBeTruthy();
  expect(screen.getByTestId("probe")).toHaveStyle({ backgroundColor: "#f6f7f9" });
  scheme.mockRestore();
});
