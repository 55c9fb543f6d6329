import { runJanitor } from '../lib/ops/janitor';
import { services } from '../lib/platform/services';

/** Not an HTTP route: EventBridge runs it hourly (serverless.yml) to prune expired rows and stray objects. */
export const handler = async () => runJanitor({ objects: services.objects });
