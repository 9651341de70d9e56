import { registerRootComponent } from "expo";
import App from "./App";

// Registers the app with Expo Go, a development build and the web export alike.
registerRootComponent(App);
