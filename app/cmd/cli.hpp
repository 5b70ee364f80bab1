#pragma once
// The command line: one table declares every command and option; it drives parsing, help and dispatch.
namespace sk::cli {
int main(int argc, char** argv);
}
