// See next.standalone.mjs: the one configuration, shared with the Bazel build.
export { default } from "./next.standalone.mjs";
