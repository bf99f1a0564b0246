/** Build-time constants (vite.config.ts `define`) and Vite's asset imports. */
declare const __SQLITE_WASM_SRI__: string;

declare module '*?url' {
  const url: string;
  export default url;
}
