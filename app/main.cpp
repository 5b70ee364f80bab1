// main only dispatches: the option table and the commands live in app/cmd/.
#include "app/cmd/cli.hpp"

int main(int argc, char** argv) { return sk::cli::main(argc, argv); }
