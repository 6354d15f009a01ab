// The workflows a bench worker registers: every production playbook plus the bench-only ones.
export * from '../../workflows';
export * from './bench-drain';
