/**
 * Report writers shared by the CLI's commands and the examples: line charts as PNG files.
 * Thread-safety is stated per class.
 */
package io.bittensor.cli.report;
