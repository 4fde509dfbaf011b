//! Load on one store: 50 rmachine processes at once creating, listing and removing `none`
//! machines, in three waves (creates with some names claimed twice; removes mixed with new
//! creates; listings throughout). Nothing is lost, nothing duplicated, every failure is reported
//! for its machine, and no listing ever shows a half-made or corrupt record: the store's lock and
//! its atomic writes hold. Prints `figure: load_store ...` lines (counts, and wall times that no
//! test asserts).

mod common;

use common::{rmachine_command, text};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Instant;

const PROCESSES: usize = 50;
/// What `ls` says of these machines' engines (nothing listens at their URL): any other error is
/// about the record.
const UNREACHABLE: &str = "nothing listens on 127.0.0.1:1";

fn spawn(store: &Path, home: &Path, args: &[String]) -> Child {
    rmachine_command(store)
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rmachine starts")
}

fn create(name: &str) -> Vec<String> {
    ["create", "-d", "none", "--url", "tcp://127.0.0.1:1", name].iter().map(|word| word.to_string()).collect()
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|word| word.to_string()).collect()
}

/// What one wave ran: each command with its output.
type Wave = Vec<(Vec<String>, Output)>;

/// Starts every command at once and waits for all.
fn wave(store: &Path, home: &Path, commands: Vec<Vec<String>>) -> (Wave, u128) {
    assert_eq!(commands.len(), PROCESSES);
    let started = Instant::now();
    let children: Vec<(Vec<String>, Child)> =
        commands.into_iter().map(|args| (args.clone(), spawn(store, home, &args))).collect();
    let outputs = children.into_iter().map(|(args, child)| (args, child.wait_with_output().unwrap())).collect();
    (outputs, started.elapsed().as_millis())
}

/// Every listing succeeded and showed only whole records (a machine being created may be
/// listed as Creating, never as an unreadable record).
fn check_listings(wave: &Wave, what: &str) -> usize {
    let mut listings = 0;
    for (args, output) in wave.iter().filter(|(args, _)| args[0] == "ls") {
        assert!(output.status.success(), "{what}: {args:?} failed: {}", text(&output.stderr));
        let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        for row in rows.as_array().unwrap() {
            let error = row["Error"].as_str().unwrap_or_default();
            let whole = error == UNREACHABLE || row["State"] == "Creating";
            assert!(whole, "{what}: a listing showed a half-made record: {row}");
        }
        listings += 1;
    }
    listings
}

/// The machines the store holds, as `ls -q` says, with every record readable.
fn machines(store: &Path, home: &Path) -> BTreeSet<String> {
    let output = spawn(store, home, &words(&["ls", "--json", "--timeout", "5"])).wait_with_output().unwrap();
    assert!(output.status.success(), "ls: {}", text(&output.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut names = BTreeSet::new();
    for row in rows.as_array().unwrap() {
        assert_eq!(row["Error"], UNREACHABLE, "only the engine is missing: {row}");
        assert!(names.insert(row["Name"].as_str().unwrap().to_string()), "listed twice: {row}");
    }
    let folders: BTreeSet<String> = std::fs::read_dir(store.join("machines"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(folders, names, "the store's folders are the listed machines (no temporary folder left)");
    names
}

#[test]
fn fifty_processes_create_list_and_remove_in_one_store() {
    let folder = tempfile::tempdir().unwrap();
    let (store, home) = (folder.path().join("store"), folder.path().join("home"));
    std::fs::create_dir(&home).unwrap();

    // Wave 1: 40 creates, 5 names claimed by two processes each, and 10 listings.
    let mut commands: Vec<Vec<String>> = (0..35).map(|index| create(&format!("m{index}"))).collect();
    for index in 0..5 {
        commands.push(create(&format!("twice{index}")));
        commands.push(create(&format!("twice{index}")));
    }
    commands.extend((0..5).map(|_| words(&["ls", "--json", "--timeout", "5"])));
    let (first, first_ms) = wave(&store, &home, commands);
    let listings = check_listings(&first, "wave 1");
    let mut refused_twice = 0;
    for index in 0..5 {
        let name = format!("twice{index}");
        let attempts: Vec<&Output> =
            first.iter().filter(|(args, _)| args[0] == "create" && args[5] == name).map(|(_, output)| output).collect();
        let succeeded = attempts.iter().filter(|output| output.status.success()).count();
        assert_eq!(succeeded, 1, "{name}: exactly one of two creates succeeds");
        let refused = attempts.iter().find(|output| !output.status.success()).unwrap();
        let error = text(&refused.stderr);
        assert!(error.contains(&format!("machine '{name}' already exists")), "{name}: {error}");
        refused_twice += 1;
    }
    for (args, output) in first.iter().filter(|(args, _)| args[0] == "create" && args[5].starts_with('m')) {
        assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
    }
    let mut expected: BTreeSet<String> = (0..35).map(|index| format!("m{index}")).collect();
    expected.extend((0..5).map(|index| format!("twice{index}")));
    assert_eq!(machines(&store, &home), expected, "after wave 1");

    // Wave 2: 20 removes, 5 removes of machines that do not exist, 20 new creates, 5 listings.
    let mut commands: Vec<Vec<String>> = (0..20).map(|index| words(&["rm", "-y", &format!("m{index}")])).collect();
    commands.extend((0..5).map(|index| words(&["rm", "-y", &format!("ghost{index}")])));
    commands.extend((0..20).map(|index| create(&format!("n{index}"))));
    commands.extend((0..5).map(|_| words(&["ls", "--json", "--timeout", "5"])));
    let (second, second_ms) = wave(&store, &home, commands);
    let listings = listings + check_listings(&second, "wave 2");
    let mut ghosts = 0;
    for (args, output) in &second {
        let target = args.last().unwrap();
        match args[0].as_str() {
            "rm" if target.starts_with("ghost") => {
                let error = text(&output.stderr);
                assert!(!output.status.success() && error.contains(&format!("'{target}' does not exist")), "{error}");
                ghosts += 1;
            }
            "rm" | "create" => assert!(output.status.success(), "{args:?}: {}", text(&output.stderr)),
            _ => {}
        }
    }
    expected.retain(|name| !(0..20).any(|index| *name == format!("m{index}")));
    expected.extend((0..20).map(|index| format!("n{index}")));
    assert_eq!(machines(&store, &home), expected, "after wave 2");

    // Wave 3: everything left is removed, 10 names at a time in one rm, with listings.
    let left: Vec<String> = expected.iter().cloned().collect();
    let mut commands: Vec<Vec<String>> =
        left.chunks(1).map(|names| [vec!["rm".to_string(), "-y".to_string()], names.to_vec()].concat()).collect();
    while commands.len() < PROCESSES {
        commands.push(words(&["ls", "--json", "--timeout", "5"]));
    }
    let (third, third_ms) = wave(&store, &home, commands);
    let listings = listings + check_listings(&third, "wave 3");
    for (args, output) in third.iter().filter(|(args, _)| args[0] == "rm") {
        assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
    }
    assert!(machines(&store, &home).is_empty(), "after wave 3");

    println!("figure: load_store processes {} processes", 3 * PROCESSES);
    println!("figure: load_store concurrent {PROCESSES} processes");
    println!("figure: load_store listings_checked {listings} listings");
    println!("figure: load_store duplicate_creates_refused {refused_twice} creates");
    println!("figure: load_store missing_removes_reported {ghosts} removes");
    println!("figure: load_store wave_times {first_ms} {second_ms} {third_ms} ms");
}
