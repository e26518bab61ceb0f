// Runs one call of the npm client @firstdorsal/powerdns-api against a PowerDNS API and prints
// its result as JSON: node pdns_npm.js BASE_URL API_KEY METHOD JSON_ARGS
// (BASE_URL is the server's URL, e.g. http://127.0.0.1:8053/api/v1/servers/localhost).
"use strict";
const { PowerdnsClient } = require("@firstdorsal/powerdns-api");

async function main() {
    const [base, key, method, args] = process.argv.slice(2);
    const client = new PowerdnsClient(base, key);
    if (typeof client[method] !== "function") {
        throw new Error(`no method ${method}`);
    }
    const result = await client[method](...JSON.parse(args || "[]"));
    process.stdout.write(JSON.stringify(result === undefined ? null : result) + "\n");
}

main().catch((err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
});
