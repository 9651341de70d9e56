// Expo's Metro defaults, which already follow pnpm's symlinks (the workspace's @strata/client
// lives in clients/ts, outside this folder). The repository root is watched so that link resolves,
// and Metro looks in this package's node_modules and then the root's: with pnpm's `hoist: false`
// every dependency this app declares is linked there, and nothing undeclared is (rules_js lays
// node_modules out the same way, so a phantom dependency fails in both builds).
const path = require("node:path");
const { getDefaultConfig } = require("expo/metro-config");

const projectRoot = __dirname;
const workspaceRoot = path.resolve(projectRoot, "../..");

const config = getDefaultConfig(projectRoot);
config.watchFolders = [workspaceRoot];
config.resolver.nodeModulesPaths = [
  path.resolve(projectRoot, "node_modules"),
  path.resolve(workspaceRoot, "node_modules"),
];
module.exports = config;
