// Expo's preset, as Metro would use without this file. Under Jest, Babel also compiles React
// Native's and Expo's sources inside node_modules, and the preset's default (helpers imported from
// @babel/runtime) would make each of those packages require a module it does not declare, which
// pnpm's strict layout (`hoist: false`) does not resolve. Inlined helpers need nothing.
module.exports = function (api) {
  const test = api.env("test");
  return { presets: [["babel-preset-expo", test ? { enableBabelRuntime: false } : {}]] };
};
