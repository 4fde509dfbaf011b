//! Docker Swarm mode through the engines' own API (TLS with the store's client certificate):
//! membership from `GET /info`, `POST /swarm/init`, join tokens from the manager's `GET /swarm`
//! handed straight to `POST /swarm/join` (never printed, never stored), node roles and labels with
//! `POST /nodes/ID/update`, draining, leaving and removing nodes.

use super::file::Role;
use super::plan::{Membership, NodeView};
use crate::tls::DockerClient;
use anyhow::{Context as _, anyhow, bail};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The port swarm managers listen on for other nodes.
pub const SWARM_PORT: u16 = 2377;

/// One engine, by its URL and the machine's name (for messages).
pub struct Engine<'a> {
    pub client: &'a DockerClient,
    pub url: String,
    pub machine: String,
}

impl Engine<'_> {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let body = self
            .client
            .call(Method::GET, &self.url, path, None)
            .await
            .with_context(|| format!("machine '{}': GET {path}", self.machine))?;
        serde_json::from_slice(&body)
            .with_context(|| format!("machine '{}': GET {path} did not answer JSON", self.machine))
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Vec<u8>> {
        self.client
            .call(method.clone(), &self.url, path, body.as_ref())
            .await
            .with_context(|| format!("machine '{}': {method} {path}", self.machine))
    }

    /// The engine's swarm membership (`None` when it is not an active node).
    pub async fn membership(&self) -> anyhow::Result<Option<Membership>> {
        let info = self.get("/info").await?;
        Ok(membership_from_info(&info))
    }

    /// `swarm init`, advertising `address`.
    pub async fn init(&self, address: &str) -> anyhow::Result<()> {
        let body = json!({ "ListenAddr": format!("0.0.0.0:{SWARM_PORT}"), "AdvertiseAddr": address });
        self.send(Method::POST, "/swarm/init", Some(body)).await.map(drop)
    }

    /// Joins the swarm whose manager is `manager`, as `role`, advertising `address`. The token goes
    /// from the manager's answer to the joining engine without being kept anywhere.
    pub async fn join(&self, manager: &Engine<'_>, role: Role, address: &str) -> anyhow::Result<()> {
        let swarm = manager.get("/swarm").await?;
        let token_key = match role {
            Role::Manager => "Manager",
            Role::Worker => "Worker",
        };
        let token = swarm["JoinTokens"][token_key]
            .as_str()
            .ok_or_else(|| anyhow!("machine '{}' is not a swarm manager: it gave no join token", manager.machine))?;
        let info = manager.get("/info").await?;
        let remote = manager_address(&info)
            .ok_or_else(|| anyhow!("machine '{}' does not report its swarm manager address", manager.machine))?;
        let body = json!({
            "ListenAddr": format!("0.0.0.0:{SWARM_PORT}"),
            "AdvertiseAddr": address,
            "RemoteAddrs": [remote],
            "JoinToken": token,
        });
        self.send(Method::POST, "/swarm/join", Some(body)).await.map(drop)
    }

    /// Leaves the swarm (forced: a manager may leave too).
    pub async fn leave(&self) -> anyhow::Result<()> {
        self.send(Method::POST, "/swarm/leave?force=true", None).await.map(drop)
    }

    /// The swarm's nodes by id (a manager only).
    pub async fn nodes(&self) -> anyhow::Result<BTreeMap<String, NodeView>> {
        let nodes = self.get("/nodes").await?;
        Ok(nodes.as_array().map(|nodes| nodes.iter().filter_map(node_view).collect()).unwrap_or_default())
    }

    /// Changes node `node_id`'s spec with `change` (a manager only), retrying on a version race.
    async fn update_node(&self, node_id: &str, change: impl Fn(&mut Value)) -> anyhow::Result<()> {
        let mut attempts = 0;
        loop {
            let node = self.get(&format!("/nodes/{node_id}")).await?;
            let version = node["Version"]["Index"].as_u64().unwrap_or(0);
            let mut spec = node["Spec"].clone();
            change(&mut spec);
            match self.send(Method::POST, &format!("/nodes/{node_id}/update?version={version}"), Some(spec)).await {
                Err(_) if attempts < 3 => attempts += 1,
                result => return result.map(drop),
            }
        }
    }

    /// Sets a node's role and adds `labels` to it (labels set by hand are kept).
    pub async fn set_role_and_labels(
        &self,
        node_id: &str,
        role: Role,
        labels: &BTreeMap<String, String>,
    ) -> anyhow::Result<()> {
        self.update_node(node_id, |spec| {
            spec["Role"] = json!(role.as_str());
            if !spec["Labels"].is_object() {
                spec["Labels"] = json!({});
            }
            for (key, value) in labels {
                spec["Labels"][key] = json!(value);
            }
        })
        .await
    }

    /// Drains a node: its tasks move to other nodes.
    pub async fn drain(&self, node_id: &str) -> anyhow::Result<()> {
        self.update_node(node_id, |spec| spec["Availability"] = json!("drain")).await
    }

    /// Removes a node that left (or is gone) from the node list.
    pub async fn remove_node(&self, node_id: &str) -> anyhow::Result<()> {
        self.send(Method::DELETE, &format!("/nodes/{node_id}?force=true"), None).await.map(drop)
    }

    /// Waits until the node's tasks have left it, up to `timeout`.
    pub async fn wait_drained(&self, node_id: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let filter = format!("{{\"node\":[\"{node_id}\"],\"desired-state\":[\"running\"]}}");
        let path = format!("/tasks?filters={}", percent_encode(&filter));
        loop {
            let tasks = self.get(&path).await?;
            let running = tasks.as_array().map_or(0, |tasks| {
                tasks.iter().filter(|task| task["Status"]["State"].as_str() == Some("running")).count()
            });
            if running == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("node {node_id} still runs {running} task(s) after {}s of draining", timeout.as_secs());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// The swarm role of the engine at `url`, `None` outside a swarm or when it does not answer (`ls`).
pub async fn swarm_role(client: &DockerClient, url: &str) -> Option<Role> {
    let body = client.call(Method::GET, url, "/info", None).await.ok()?;
    let info: Value = serde_json::from_slice(&body).ok()?;
    membership_from_info(&info).map(|member| member.role)
}

/// Membership from `GET /info`: active nodes only; a manager has control available.
pub fn membership_from_info(info: &Value) -> Option<Membership> {
    let swarm = &info["Swarm"];
    if swarm["LocalNodeState"].as_str() != Some("active") {
        return None;
    }
    let node_id = swarm["NodeID"].as_str().filter(|id| !id.is_empty())?.to_string();
    let role = if swarm["ControlAvailable"].as_bool() == Some(true) { Role::Manager } else { Role::Worker };
    Some(Membership { node_id, role })
}

/// The address a manager is reached at by joining nodes, from its own `GET /info`.
fn manager_address(info: &Value) -> Option<String> {
    let swarm = &info["Swarm"];
    let own = swarm["NodeID"].as_str()?;
    swarm["RemoteManagers"]
        .as_array()?
        .iter()
        .find(|manager| manager["NodeID"].as_str() == Some(own))
        .and_then(|manager| manager["Addr"].as_str())
        .map(str::to_string)
}

fn node_view(node: &Value) -> Option<(String, NodeView)> {
    let id = node["ID"].as_str()?.to_string();
    let role = if node["Spec"]["Role"].as_str() == Some("manager") { Role::Manager } else { Role::Worker };
    let labels = node["Spec"]["Labels"]
        .as_object()
        .map(|labels| {
            labels.iter().filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string()))).collect()
        })
        .unwrap_or_default();
    Some((id, NodeView { role, labels }))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_read_from_the_engine_info() {
        let manager = json!({"Swarm": {"LocalNodeState": "active", "NodeID": "abc", "ControlAvailable": true,
            "RemoteManagers": [{"NodeID": "abc", "Addr": "10.0.0.1:2377"}]}});
        assert_eq!(membership_from_info(&manager), Some(Membership { node_id: "abc".into(), role: Role::Manager }));
        assert_eq!(manager_address(&manager).as_deref(), Some("10.0.0.1:2377"));
        let worker = json!({"Swarm": {"LocalNodeState": "active", "NodeID": "def", "ControlAvailable": false}});
        assert_eq!(membership_from_info(&worker).map(|member| member.role), Some(Role::Worker));
        let outside = json!({"Swarm": {"LocalNodeState": "inactive", "NodeID": ""}});
        assert_eq!(membership_from_info(&outside), None);
    }

    #[test]
    fn nodes_carry_their_role_and_labels() {
        let node = json!({"ID": "n1", "Spec": {"Role": "worker", "Labels": {"env": "test"}}});
        let (id, view) = node_view(&node).unwrap();
        assert_eq!(id, "n1");
        assert_eq!(view.role, Role::Worker);
        assert_eq!(view.labels.get("env").map(String::as_str), Some("test"));
        assert_eq!(percent_encode("{\"a\":[1]}"), "%7B%22a%22%3A%5B1%5D%7D");
    }
}
