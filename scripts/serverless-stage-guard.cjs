// Refuses to package or deploy the `dev` stage: it exists for serverless offline, where settings come from
// the shell, so a deploy would ship functions with an empty environment that fail at every cold start.
'use strict';

class StageGuard {
  constructor(serverless, options) {
    const refuse = () => {
      const stage = options.stage || serverless.service.provider.stage;
      if (stage !== 'dev') return;
      throw new serverless.classes.Error(
        'Stage "dev" has no deploy settings: it is only for `npm run dev` (serverless offline). ' +
          'Create the secret portrait/<stage> (README, Deploy) and deploy with --stage <stage>, e.g. --stage prod.',
      );
    };
    this.hooks = { 'before:package:initialize': refuse, 'before:deploy:deploy': refuse };
  }
}

module.exports = StageGuard;
