//! `Session` as the provisioner's `Remote`: the provisioner runs its steps through this trait.

use rmachine_provision::{CommandOutput, Remote, RemoteError};

use super::Session;

impl Remote for Session {
    async fn run(&self, command: &str, stdin: Option<&[u8]>) -> Result<CommandOutput, RemoteError> {
        Session::run(self, command, stdin).await.map_err(RemoteError::from)
    }

    fn describe(&self) -> String {
        Session::describe(self)
    }
}
