// What `portrait:static-assets` is inside a Lambda bundle, built the same way (see esbuild.config.ts).
import { buildStaticAssets } from '../../web/build';

export default await buildStaticAssets();
