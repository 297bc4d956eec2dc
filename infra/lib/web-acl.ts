/**
 * WAFv2 regional web ACL for the api's ALB. The ALB belongs to the AWS Load Balancer Controller, so this only
 * creates the ACL; the Ingress annotation `alb.ingress.kubernetes.io/wafv2-acl-arn` (WAF_ACL_ARN in aws.env)
 * associates it.
 *
 * Processor notifications (`/v1/processor_notifications/…`, e.g. Stripe's webhooks) are authenticated by their
 * HMAC signature before the app reads them, arrive in bursts from a few shared addresses, carry bodies larger
 * than the Common rule set's 8 KB limit and echo customer-entered text (descriptions, metadata) that the
 * Common and SQLi groups would take for an attack. A blocked notification is a lost payment update, so that
 * path is exempt from the general rate limit and the two body-inspecting groups; IP reputation and Known Bad
 * Inputs still apply. The exemption compares the raw path prefix: the app does not resolve dot segments, so
 * a request can only reach a route under that prefix.
 */
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';
import { prefix, wafLogGroupName } from '../config/names.js';

export const TOKEN_PATH = '/oauth/token';
export const NOTIFICATIONS_PATH_PREFIX = '/v1/processor_notifications/';
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
] as const;

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  sampledRequestsEnabled: true,
  metricName,
});

const pathStartsWith = (path: string): wafv2.CfnWebACL.StatementProperty => ({
  byteMatchStatement: {
    fieldToMatch: { uriPath: {} },
    positionalConstraint: 'STARTS_WITH',
    searchString: path,
    textTransformations: [{ priority: 0, type: 'NONE' }],
  },
});

const notNotification: wafv2.CfnWebACL.StatementProperty = { notStatement: { statement: pathStartsWith(NOTIFICATIONS_PATH_PREFIX) } };

// 429 like the app's own rate limiter, so clients back off the same way whichever layer refused them.
const tooManyRequests: wafv2.CfnWebACL.RuleActionProperty = { block: { customResponse: { responseCode: 429 } } };

export interface WebAclProps {
  readonly config: EnvironmentConfig;
}

export class WebAcl extends Construct {
  readonly acl: wafv2.CfnWebACL;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WebAclProps) {
    super(scope, id);
    const { config } = props;
    const name = prefix(config.name);

    const managed = (group: (typeof MANAGED_RULE_GROUPS)[number], priority: number,
      scopeDownStatement?: wafv2.CfnWebACL.StatementProperty): wafv2.CfnWebACL.RuleProperty => ({
      name: group,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: group, ...(scopeDownStatement ? { scopeDownStatement } : {}) } },
      visibilityConfig: visibility(group),
    });

    this.acl = new wafv2.CfnWebACL(this, 'Acl', {
      name,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(name),
      rules: [
        {
          // Client-credential guessing against the token endpoint: a real client needs a token every few
          // minutes, not hundreds.
          name: 'rate-oauth-token',
          priority: 0,
          action: tooManyRequests,
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              evaluationWindowSec: 300,
              limit: config.waf.tokenRateLimit,
              scopeDownStatement: {
                byteMatchStatement: {
                  fieldToMatch: { uriPath: {} },
                  positionalConstraint: 'EXACTLY',
                  searchString: TOKEN_PATH,
                  // Percent-encoded spellings of the path reach the same route; decode before comparing.
                  textTransformations: [{ priority: 0, type: 'URL_DECODE' }],
                },
              },
            },
          },
          visibilityConfig: visibility('rate-oauth-token'),
        },
        {
          name: 'rate-per-ip',
          priority: 1,
          action: tooManyRequests,
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              evaluationWindowSec: 300,
              limit: config.waf.generalRateLimit,
              scopeDownStatement: notNotification,
            },
          },
          visibilityConfig: visibility('rate-per-ip'),
        },
        managed('AWSManagedRulesAmazonIpReputationList', 10),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 20),
        // Body-inspecting groups skip processor notifications (see above).
        managed('AWSManagedRulesCommonRuleSet', 30, notNotification),
        managed('AWSManagedRulesSQLiRuleSet', 40, notNotification),
      ],
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: wafLogGroupName(config.name),
      retention: config.logs.wafRetentionDays as logs.RetentionDays,
    });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.acl.attrArn,
      // WAF wants the log group ARN without the trailing `:*` that LogGroup.logGroupArn carries.
      logDestinationConfigs: [`arn:aws:logs:${config.region}:${config.account}:log-group:${wafLogGroupName(config.name)}`],
      // Bearer tokens and the token endpoint's Basic credentials must not end up in a log.
      redactedFields: [{ singleHeader: { Name: 'authorization' } }],
    });
    logging.node.addDependency(this.logGroup);
  }
}
