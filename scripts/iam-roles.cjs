// One IAM role per function, each allowed only the S3 actions and key prefixes its code uses, and
// CloudWatch Logs on its own log group. serverless.yml merges these into `resources` and names each
// role in its function's `role:`; test/package.test.ts asserts every role's statements.
//
// How lib/platform/storage.ts's ObjectStore maps to S3 actions:
//   put → s3:PutObject; get, head → s3:GetObject; list(prefix) → s3:ListBucket with that s3:prefix;
//   deleteMany → s3:DeleteObject per key; presignGet → s3:GetObject and presignPost → s3:PutObject,
//   because a presigned request is allowed only what the role that signed it may do;
//   ensureBucket's HeadBucket → s3:ListBucket on the bucket (no prefix).
// A GET or HEAD of a missing key answers 404 only to a role that may list the bucket (403 otherwise),
// so the functions that must tell "missing" from "refused" (health, confirmPicture) list unconditionally.
'use strict';

const PICTURES = 'pictures/*';
const INCOMING = 'incoming/*';
const DEFAULT_AVATAR = 'defaults/avatar/*';
const HEALTH_PROBE = 'health-probe';

/** Profiles and the picture redirect hand out presigned GET URLs of pictures and of the default avatar. */
const SHOWS_PICTURES = { get: [PICTURES, DEFAULT_AVATAR] };
/** Deleting an account removes its prefixes (lib/accounts/lifecycle.ts cleanUpObjectsOf, purgeStorageLeftovers). */
const DELETES_ACCOUNTS = { list: [PICTURES, INCOMING], delete: [PICTURES, INCOMING] };

/**
 * Function (serverless.yml name) → what it does with the bucket: get/put/delete on key patterns,
 * list under prefixes, `bucket` for HeadBucket and 404s on missing keys. `{}` = no AWS access.
 */
const ACCESS = {
  register: {},
  verifyEmail: SHOWS_PICTURES,
  resendVerification: {},
  login: {},
  refresh: {},
  logout: {},
  getProfile: SHOWS_PICTURES,
  updateProfile: SHOWS_PICTURES,
  // Renders into pictures/, deletes the replaced picture's variants by key.
  uploadPicture: { bucket: true, get: [PICTURES, DEFAULT_AVATAR], put: [PICTURES], delete: [PICTURES] },
  listSessions: {},
  revokeSession: {},
  forgotPassword: {},
  resetPassword: {},
  changePassword: {},
  changeEmail: {},
  confirmEmail: SHOWS_PICTURES,
  deleteAccount: DELETES_ACCOUNTS,
  // Lists the owner's pictures/ prefix to find the keys to delete.
  deletePicture: { get: [PICTURES, DEFAULT_AVATAR], list: [PICTURES], delete: [PICTURES] },
  pictureRedirect: SHOWS_PICTURES,
  // Signs the browser's POST into incoming/.
  uploadUrl: { bucket: true, put: [INCOMING] },
  // Reads and drops the raw upload in incoming/, renders into pictures/.
  confirmPicture: { bucket: true, get: [INCOMING, PICTURES, DEFAULT_AVATAR], put: [PICTURES], delete: [INCOMING, PICTURES] },
  health: { bucket: true, get: [HEALTH_PROBE] },
  openapi: {},
  web: {},
  notFound: {},
  adminListUsers: SHOWS_PICTURES,
  adminGetUser: SHOWS_PICTURES,
  adminUpdateUser: SHOWS_PICTURES,
  adminDeleteUser: DELETES_ACCOUNTS,
  adminUnlockUser: {},
  adminAudit: {},
  // Stores the default avatar once: lists what is there, puts what is missing.
  setupStorage: { bucket: true, list: [DEFAULT_AVATAR], put: [DEFAULT_AVATAR] },
  // Prunes raw uploads, orphaned pictures and the leftovers of deleted accounts.
  janitor: { list: [PICTURES, INCOMING], delete: [PICTURES, INCOMING] },
};

/** The role's logical id in the template for a function: login → LoginLambdaRole. */
const roleLogicalId = (name) => `${name[0].toUpperCase()}${name.slice(1)}LambdaRole`;

const objects = (patterns) => patterns.map((pattern) => ({ 'Fn::Sub': `\${PictureBucket.Arn}/${pattern}` }));
const logGroup = (functionName, suffix) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}${suffix}`,
});

function statementsFor(access, functionName, vpc) {
  const statements = [
    // The log group itself is a resource of the stack (serverless creates it), so the role never creates one.
    { Effect: 'Allow', Action: ['logs:CreateLogStream'], Resource: [logGroup(functionName, ':*')] },
    { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [logGroup(functionName, ':*:*')] },
  ];
  for (const [action, patterns] of [
    ['s3:GetObject', access.get],
    ['s3:PutObject', access.put],
    ['s3:DeleteObject', access.delete],
  ]) {
    if (patterns?.length) statements.push({ Effect: 'Allow', Action: [action], Resource: objects(patterns) });
  }
  if (access.bucket) {
    statements.push({ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [{ 'Fn::GetAtt': ['PictureBucket', 'Arn'] }] });
  } else if (access.list?.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [{ 'Fn::GetAtt': ['PictureBucket', 'Arn'] }],
      Condition: { StringLike: { 's3:prefix': access.list } },
    });
  }
  // In a VPC, Lambda attaches network interfaces through the function's role (AWSLambdaVPCAccessExecutionRole's
  // actions); EC2 allows no narrower resource for the Describe call.
  if (vpc) {
    statements.push({
      Effect: 'Allow',
      Action: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      Resource: ['*'],
    });
  }
  return statements;
}

module.exports = async ({ resolveConfigurationProperty, resolveVariable }) => {
  const service = await resolveConfigurationProperty(['service']);
  const stage = await resolveVariable('sls:stage');
  const functions = (await resolveConfigurationProperty(['functions'])) || {};
  const providerVpc = await resolveConfigurationProperty(['provider', 'vpc']);
  const unlisted = Object.keys(functions).filter((name) => !(name in ACCESS));
  if (unlisted.length) {
    throw new Error(`scripts/iam-roles.cjs has no access entry for ${unlisted.join(', ')}: say what each may do with the bucket ({} for nothing)`);
  }
  const Resources = {};
  for (const name of Object.keys(functions)) {
    const functionName = `${service}-${stage}-${name}`;
    Resources[roleLogicalId(name)] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        Path: '/',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
        },
        Policies: [
          {
            PolicyName: `${functionName}-access`,
            PolicyDocument: { Version: '2012-10-17', Statement: statementsFor(ACCESS[name], functionName, Boolean(providerVpc || functions[name].vpc)) },
          },
        ],
      },
    };
  }
  return { Resources };
};

module.exports.ACCESS = ACCESS;
module.exports.roleLogicalId = roleLogicalId;
