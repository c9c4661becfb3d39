//! Compiles `orchestra/v1/*.proto` with protox (pure Rust, so no system `protoc` is needed)
//! and writes a file descriptor set beside the generated code for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every file in the package directory is compiled, so a new service needs no edit here.
    println!("cargo:rerun-if-changed=orchestra/v1");
    let mut protos: Vec<String> = std::fs::read_dir("orchestra/v1")?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    protos.sort();
    for proto in &protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(&protos, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("orchestra_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // `--json` output of the CLI is these messages as they are, field names and all.
        .type_attribute(".orchestra.v1", "#[derive(serde::Serialize)]")
        // A transcript event's variant reads `tool_use`, as the proto field is named.
        .type_attribute(
            ".orchestra.v1.TranscriptEvent.event",
            "#[serde(rename_all = \"snake_case\")]",
        )
        // An agent's diff reads as `orchestractl diff --json` promises: `old_path` only for
        // a renamed file, line numbers only where the line has one, `lines_cut` only when
        // something was cut.
        .field_attribute(
            ".orchestra.v1.DiffFile.old_path",
            "#[serde(skip_serializing_if = \"String::is_empty\")]",
        )
        .field_attribute(
            ".orchestra.v1.DiffFile.lines_cut",
            "#[serde(skip_serializing_if = \"crate::is_zero\")]",
        )
        .field_attribute(
            ".orchestra.v1.DiffLine.old_line",
            "#[serde(skip_serializing_if = \"Option::is_none\")]",
        )
        .field_attribute(
            ".orchestra.v1.DiffLine.new_line",
            "#[serde(skip_serializing_if = \"Option::is_none\")]",
        )
        .compile_fds(fds)?;
    Ok(())
}
