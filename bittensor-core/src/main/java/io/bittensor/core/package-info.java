/**
 * The API of a bittensor node: the interfaces applications compose ({@code Peer}, {@code Ledger},
 * {@code GatingLayer}, {@code Distiller}) and their value types. The incentive mathematics
 * ({@link io.bittensor.incentive.IncentiveMechanism} and its inputs and outputs) lives in
 * {@code bittensor-incentive}, which this module depends on and re-exports to its users, so that
 * research code can take the mathematics without the networking.
 *
 * <p>This module is a skeleton: its types arrive with the transport, ledger and learning work.
 */
package io.bittensor.core;
