// The browser files the `web` function serves (built by web/build.ts). Inside a Lambda bundle they come from
// the module `portrait:static-assets`, which the esbuild plugin in esbuild.config.ts fills at bundle time.

export interface StaticAsset {
  /** Content-hashed file name, served under /assets/. */
  name: string;
  type: string;
  /** base64 of the gzipped bytes: kept compressed in the bundle, unzipped only for clients that do not take gzip. */
  gzip: string;
  bytes: number;
  gzipBytes: number;
}

export interface StaticAssets {
  files: {
    app: StaticAsset;
    styles: StaticAsset;
    docs: StaticAsset;
    swaggerJs: StaticAsset;
    swaggerCss: StaticAsset;
    favicon: StaticAsset;
  };
}
