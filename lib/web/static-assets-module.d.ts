declare module 'portrait:static-assets' {
  const assets: import('./static-assets').StaticAssets;
  export default assets;
}
