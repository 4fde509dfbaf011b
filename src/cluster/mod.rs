//! Clusters declared in a file (`rmachine apply -f cluster.yaml`): the file and its checks
//! (`file`), the plan from what exists to what is declared (`plan`), and Docker Swarm mode through
//! the engines' API (`swarm`).

pub mod file;
mod file_reader;
pub mod plan;
pub mod swarm;
