// Entry point of a connector's settings page (/settings/integrations/<key>).
import { ConnectorPage } from "./js/connector.js";
import { setUpIdentity } from "./js/identity.js";

const root = document.getElementById("connector-page");
setUpIdentity();
window.addEventListener("auth:required", () => window.location.assign("/"));
new ConnectorPage(root, root.dataset.key).load();
