// Synthetic readiness check (CloudWatch Synthetics, syn-nodejs-puppeteer runtimes >= 13.1).
// One GET of HEALTH_URL per run; an answer outside 2xx, a timeout or a connection error fails the
// run, which the canary-success-rate alarm counts. The request carries a correlation id starting
// with "canary-", so the function's logs of any run are one Logs Insights query away.
const synthetics = require('@aws/synthetics-puppeteer');
const log = require('@aws/synthetics-logger');

const target = new URL(process.env.HEALTH_URL);

const expectSuccess = async (response) => new Promise((resolve, reject) => {
  let body = '';
  response.on('data', (chunk) => { body += chunk; });
  response.on('end', () => {
    log.info(`readiness answered ${response.statusCode}: ${body.slice(0, 300)}`);
    if (response.statusCode < 200 || response.statusCode > 299) {
      reject(new Error(`readiness answered ${response.statusCode} ${response.statusMessage}`));
      return;
    }
    resolve();
  });
});

exports.handler = async () => {
  synthetics.getConfiguration().setConfig({
    includeRequestHeaders: true,
    includeResponseHeaders: true,
    includeRequestBody: false,
    includeResponseBody: true,
  });
  const requestOptions = {
    hostname: target.hostname,
    port: target.port || 443,
    protocol: target.protocol,
    method: 'GET',
    path: `${target.pathname}${target.search}`,
    headers: {
      'User-Agent': synthetics.getCanaryUserAgentString(),
      'X-Correlation-ID': `canary-${Date.now()}`,
    },
  };
  await synthetics.executeHttpStep('readiness', requestOptions, expectSuccess);
};
